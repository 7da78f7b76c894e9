// `tollgate serve`: wires every stage together (the only place that names the
// concrete types) and serves until SIGINT/SIGTERM.
#pragma once

#include "app/config.h"

namespace tollgate::app {

// Returns the process exit status.
int serve(const Config& config);

}  // namespace tollgate::app
