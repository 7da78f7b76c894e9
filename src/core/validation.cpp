#include "core/validation.h"

namespace tollgate {

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool matches_word_pattern(std::string_view value, std::string_view extra_word_chars) {
  if (value.empty()) return false;
  bool after_word_char = false;
  for (char c : value) {
    bool word_char = is_alnum(c) || extra_word_chars.find(c) != std::string_view::npos;
    bool separator = c == ' ' || c == '_' || c == '-';
    if (word_char) {
      after_word_char = true;
    } else if (separator && after_word_char) {
      after_word_char = false;
    } else {
      return false;
    }
  }
  return true;
}

std::string quote_value(std::string_view value) {
  constexpr size_t kMax = 80;
  if (value.size() <= kMax) return std::string(value);
  return std::string(value.substr(0, kMax)) + "...(" + std::to_string(value.size()) + " characters)";
}

Status check_length(std::string_view field, std::string_view value, size_t min, size_t max) {
  if (value.size() < min) {
    return Error(ErrorCode::Validation, "1 validation error detected: Value '" + quote_value(value) + "' at '" +
                                            std::string(field) + "' failed to satisfy constraint: Member must have length greater than or equal to " +
                                            std::to_string(min));
  }
  if (value.size() > max) {
    return Error(ErrorCode::Validation, "1 validation error detected: Value '" + quote_value(value) + "' at '" +
                                            std::string(field) + "' failed to satisfy constraint: Member must have length less than or equal to " +
                                            std::to_string(max) + " (it has " + std::to_string(value.size()) + ")");
  }
  return {};
}

Status check_pattern(std::string_view field, std::string_view value, const Pattern& pattern) {
  if (pattern.matches(value)) return {};
  return Error(ErrorCode::Validation, "1 validation error detected: Value '" + quote_value(value) + "' at '" +
                                          std::string(field) +
                                          "' failed to satisfy constraint: Member must satisfy regular expression pattern: " +
                                          std::string(pattern.text) + " (" + std::string(pattern.hint) + ")");
}

Status check_enum(std::string_view field, std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == value) return {};
  }
  std::string set;
  for (auto a : allowed) set += (set.empty() ? "" : ", ") + std::string(a);
  return Error(ErrorCode::Validation, "1 validation error detected: Value '" + quote_value(value) + "' at '" +
                                          std::string(field) +
                                          "' failed to satisfy constraint: Member must satisfy enum value set: [" +
                                          set + "]");
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

Status check_string(std::string_view field, std::string_view value, size_t min, size_t max, const Pattern& pattern) {
  TOLLGATE_TRY(check_length(field, value, min, max));
  return check_pattern(field, value, pattern);
}

}  // namespace tollgate
