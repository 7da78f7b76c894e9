// How Bedrock usage is spelled in AWS billing data, so that Cost Explorer answers and exports read like
// AWS's own: the service name and code, the Region's billing prefix, the usage type of each token kind
// (`USE1-Claude3Haiku-input-tokens`), the operation. doc/costs.md, "Names", says where each spelling
// comes from and where tollgate's differs from AWS's.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "ledger/ledger.h"

namespace tollgate::costs {

inline constexpr std::string_view kServiceName = "Amazon Bedrock";  // SERVICE, product_servicename
inline constexpr std::string_view kServiceCode = "AmazonBedrock";   // SERVICE_CODE, line_item_product_code
inline constexpr std::string_view kRecordType = "Usage";            // RECORD_TYPE, line_item_line_item_type
inline constexpr std::string_view kCreditRecordType = "Credit";     // the same, of a credit line item

// The billing code of a Region as usage types begin with it: "USE1" for us-east-1, "EU" for eu-west-1.
// A Region without a known code gives its own name in capitals.
std::string region_prefix(std::string_view region);

// The model's name as usage types spell it: "Claude 3 Haiku" -> "Claude3Haiku", "Claude Sonnet 4.5" ->
// "Claude4.5Sonnet" (AWS puts a Claude model's version before its tier), "Nova Lite" -> "NovaLite".
std::string usage_family(std::string_view model_name);

// "USE1-Claude3Haiku-input-tokens", "-output-tokens", "-cache-read-input-token-count",
// "-cache-write-input-token-count".
std::string usage_type(std::string_view region, std::string_view family, ledger::TokenType token_type);

// The operation AWS bills Bedrock inference under: "InvokeModelStreamingInference" for ConverseStream and
// InvokeModelWithResponseStream, "InvokeModelInference" for the others.
std::string_view billing_operation(std::string_view api_operation);

// "arn:aws:bedrock:REGION::foundation-model/ID": the resource of a call made with a bare model id.
std::string foundation_model_resource(std::string_view region, std::string_view model_id);

}  // namespace tollgate::costs
