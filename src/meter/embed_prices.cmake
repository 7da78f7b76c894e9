# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -P embed_prices.cmake
# Writes a C++ source defining tollgate::meter::detail::embedded_prices_json() over the bytes of INPUT,
# as a hex array (no string-literal length limits, no delimiter to escape).
# A copy of src/catalog/embed_file.cmake with the meter names (that one hard-codes the catalog function).
if(NOT DEFINED INPUT OR NOT DEFINED OUTPUT)
  message(FATAL_ERROR "embed_prices.cmake: pass -DINPUT=... -DOUTPUT=...")
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
"// Generated from ${input_name} by src/meter/embed_prices.cmake. Do not edit.
#include <cstddef>
#include <string_view>

#include \"meter/embedded_prices.h\"

namespace tollgate::meter::detail {
namespace {

constexpr std::size_t kSize = ${size};
constexpr unsigned char kBytes[kSize + 1] = {
    ${bytes}0x00};

}  // namespace

std::string_view embedded_prices_json() { return {reinterpret_cast<const char*>(kBytes), kSize}; }

}  // namespace tollgate::meter::detail
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
