#include "provider/provider.h"

namespace tollgate::provider {

std::string_view to_string(Operation operation) {
  switch (operation) {
    case Operation::Converse: return "Converse";
    case Operation::ConverseStream: return "ConverseStream";
    case Operation::InvokeModel: return "InvokeModel";
    case Operation::InvokeModelWithResponseStream: return "InvokeModelWithResponseStream";
    case Operation::CountTokens: return "CountTokens";
  }
  return "Unknown";
}

}  // namespace tollgate::provider
