// Runs a RequestHandler on one request without a network, on a private event
// loop, and returns what it answered (a streamed answer's chunks concatenated).
// For tests, fuzz targets and tools.
#pragma once

#include "http/server.h"

namespace tollgate::http {

Response serve_in_memory(RequestHandler& handler, Request& request);

}  // namespace tollgate::http
