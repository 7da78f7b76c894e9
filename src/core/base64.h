// Base64 (RFC 4648, standard alphabet, padded) for JSON blobs and opaque tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tollgate {

std::string base64_encode(std::string_view bytes);
// Returns nullopt on characters outside the alphabet or wrong padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace tollgate
