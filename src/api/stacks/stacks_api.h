// tollgate's own endpoint for `tollgate apply`: deploys a CloudFormation template's application inference
// profiles as a stack (stacks::StackService). Not an AWS API: rest-json, signed like the bedrock control
// plane (SigV4 with signing name "bedrock", or a Bedrock API key), so the caller's account and region are
// the stack's.
//
//   POST /tollgate/stacks/{StackName}
//   {"TemplateBody": "...", "TemplateFile": "profiles.yaml", "Parameters": {"Team": "search"}, "DryRun": false}
//   → 200 {"StackName", "StackId", "DryRun", "Changes": [{"Action", "LogicalResourceId", "ResourceType",
//          "PhysicalResourceId", "Details": [...]}], "Outputs": [{"OutputKey", "OutputValue", "Description",
//          "ExportName"}], "SkippedOutputs": [...]}
//   Errors: ValidationException (400) listing every problem with file:line:column.
#pragma once

#include <cstddef>

#include "api/gateway.h"
#include "stacks/stack_service.h"

namespace tollgate::api::stacks {

void register_stacks_api(Gateway& gateway, tollgate::stacks::StackService& service, size_t body_limit);

}  // namespace tollgate::api::stacks
