// The bytes of src/catalog/data/catalog.json, compiled into the binary. The definition is generated at
// build time by cmake/embed_file.cmake (see CMakeLists.txt); private to the catalog library.
#pragma once

#include <string_view>

namespace tollgate::catalog::detail {

std::string_view embedded_catalog_json();

}  // namespace tollgate::catalog::detail
