// Random identifiers: request ids (UUID v4 text) and resource ids shaped like AWS's.
#pragma once

#include <string>

namespace tollgate {

// "019a8a2e-5c3b-7d41-a165-70867728950e": a UUID version 7 (time-ordered, random tail).
std::string new_request_id();

// `length` characters from [a-z0-9], e.g. "5dews3o6kky6" for application profile ids.
std::string new_resource_id(size_t length = 12);

}  // namespace tollgate
