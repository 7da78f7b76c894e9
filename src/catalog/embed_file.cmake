# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -P embed_file.cmake
# Writes a C++ source defining tollgate::catalog::detail::embedded_catalog_json() over the bytes of INPUT,
# as a hex array (no string-literal length limits, no delimiter to escape).
if(NOT DEFINED INPUT OR NOT DEFINED OUTPUT)
  message(FATAL_ERROR "embed_file.cmake: pass -DINPUT=... -DOUTPUT=...")
endif()
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Sixteen bytes a line (CMake regexes have no {n}, so the pattern is built by repetition).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_pattern)
string(REGEX REPLACE "(${line_pattern})" "\\1\n    " bytes "${bytes}")
get_filename_component(input_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${input_name} by src/catalog/embed_file.cmake. Do not edit.
#include <cstddef>
#include <string_view>

#include \"catalog/embedded_catalog.h\"

namespace tollgate::catalog::detail {
namespace {

constexpr std::size_t kSize = ${size};
constexpr unsigned char kBytes[kSize + 1] = {
    ${bytes}0x00};

}  // namespace

std::string_view embedded_catalog_json() { return {reinterpret_cast<const char*>(kBytes), kSize}; }

}  // namespace tollgate::catalog::detail
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
