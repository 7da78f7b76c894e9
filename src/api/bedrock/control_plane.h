// The bedrock (control plane) rest-json operations: inference profiles, their
// tags, and the foundation-model catalog. Wire shapes per the bedrock service
// model; the logic lives in profiles::ProfileService and catalog::Catalog.
#pragma once

#include <cstddef>

#include "api/gateway.h"
#include "catalog/catalog.h"
#include "profiles/profile_service.h"

namespace tollgate::api::bedrock {

void register_control_plane(Gateway& gateway, profiles::ProfileService& profiles, const catalog::Catalog& catalog,
                            size_t body_limit);

}  // namespace tollgate::api::bedrock
