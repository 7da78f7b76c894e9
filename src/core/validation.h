// Field validation shared by every API: length and pattern checks that produce
// the AWS-style ValidationException message ("1 validation error detected:
// Value 'x' at 'field' failed to satisfy constraint: ...") plus a hint that says
// what to send instead.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tollgate {

// Character classes and patterns from the service models, as predicates
// (hand-written: std::regex recurses per character and can overflow on long input).
bool is_alnum(char c);

struct Pattern {
  std::string_view text;                          // the regular expression as the model spells it
  std::function<bool(std::string_view)> matches;  // exact (anchored) match
  std::string_view hint;                          // plain words: what a valid value looks like
};

// ([0-9a-zA-Z][ _-]?)+  — alphanumeric words joined by single spaces, underscores or hyphens.
bool matches_word_pattern(std::string_view value, std::string_view extra_word_chars = {});

Status check_length(std::string_view field, std::string_view value, size_t min, size_t max);
Status check_pattern(std::string_view field, std::string_view value, const Pattern& pattern);
Status check_string(std::string_view field, std::string_view value, size_t min, size_t max, const Pattern& pattern);

// The value must be one of `allowed` (a model enum).
Status check_enum(std::string_view field, std::string_view value, std::initializer_list<std::string_view> allowed);

// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// Truncates a value for quoting in an error message.
std::string quote_value(std::string_view value);

}  // namespace tollgate
