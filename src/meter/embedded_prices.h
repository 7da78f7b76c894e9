// The bytes of src/meter/data/prices.json, compiled into the binary. The definition is generated at build
// time by cmake/embed_file.cmake (see CMakeLists.txt); private to the meter library.
#pragma once

#include <string_view>

namespace tollgate::meter::detail {

std::string_view embedded_prices_json();

}  // namespace tollgate::meter::detail
