# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DHEADER=<include> -DNAMESPACE=<ns> -DFUNCTION=<name> -P embed_file.cmake
# Writes a C++ source defining `std::string_view NAMESPACE::FUNCTION()` over the bytes of INPUT, as a hex
# array (no string-literal length limits, no delimiter to escape). Used through tollgate_embed_file().
foreach(arg INPUT OUTPUT HEADER NAMESPACE FUNCTION)
  if(NOT DEFINED ${arg})
    message(FATAL_ERROR "embed_file.cmake: pass -D${arg}=...")
  endif()
endforeach()
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Sixteen bytes a line (CMake regexes have no {n}, so the pattern is built by repetition).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_pattern)
string(REGEX REPLACE "(${line_pattern})" "\\1\n    " bytes "${bytes}")
get_filename_component(input_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
"// Generated from ${input_name} by cmake/embed_file.cmake. Do not edit.
#include <cstddef>
#include <string_view>

#include \"${HEADER}\"

namespace ${NAMESPACE} {
namespace {

constexpr std::size_t kSize = ${size};
constexpr unsigned char kBytes[kSize + 1] = {
    ${bytes}0x00};

}  // namespace

std::string_view ${FUNCTION}() { return {reinterpret_cast<const char*>(kBytes), kSize}; }

}  // namespace ${NAMESPACE}
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
