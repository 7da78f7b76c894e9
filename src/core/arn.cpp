#include "core/arn.h"

namespace tollgate {

std::string Arn::to_string() const {
  return "arn:" + partition + ":" + service + ":" + region + ":" + account + ":" + resource_type + "/" + resource_id;
}

std::optional<Arn> parse_arn(std::string_view text) {
  if (!looks_like_arn(text)) return std::nullopt;
  std::string_view rest = text.substr(4);
  std::string_view fields[4];
  for (auto& field : fields) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    field = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
  if (fields[0].empty() || fields[1].empty()) return std::nullopt;
  return Arn{std::string(fields[0]), std::string(fields[1]), std::string(fields[2]), std::string(fields[3]),
             std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

}  // namespace tollgate
