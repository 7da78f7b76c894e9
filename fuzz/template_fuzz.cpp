// libFuzzer target: the CloudFormation template reader of src/stacks/template.h on arbitrary bytes (a
// template comes from whoever runs `tollgate apply` or `tollgate validate`). Parses, resolves the parameters
// with none given (as apply, every value required, and as validate, not), and evaluates every managed resource and
// every output as a dry run would (no resource deployed yet). Besides not crashing or throwing, checks what apply
// relies on: every problem is a located ValidationException, the deploy order lists each managed resource once after
// those it depends on, values resolved with every one required are those resolved without, and a profile's unknown tag
// values are tags it has.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "stacks/template.h"

namespace {

using namespace tollgate::stacks;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_error(const tollgate::Error& error) {
  check(error.code() == tollgate::ErrorCode::Validation);
  check(!error.message().empty());
}

void check_deploy_order(const Template& t) {
  std::set<std::string> deployed;
  size_t managed = 0;
  for (const auto& r : t.resources()) managed += r.type == kProfileType;
  check(t.deploy_order().size() == managed);
  for (const auto& id : t.deploy_order()) {
    auto resource = std::find_if(t.resources().begin(), t.resources().end(),
                                 [&](const TemplateResource& r) { return r.logical_id == id; });
    check(resource != t.resources().end() && resource->type == kProfileType);
    for (const auto& dependency : resource->depends_on) check(deployed.count(dependency) == 1);
    check(deployed.insert(id).second);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = Template::parse(text, "fuzz.yaml");
  if (!parsed.ok()) {
    check_error(parsed.error());
    return 0;
  }
  const Template& t = *parsed;
  check_deploy_order(t);

  StackInputs inputs{"fuzz-stack",
                     "arn:aws:cloudformation:us-east-1:123456789012:stack/fuzz-stack/id",
                     "123456789012",
                     "us-east-1",
                     {}};
  auto parameters = t.resolve_parameters({});
  auto known = t.resolve_parameters({}, /*require_every_value=*/false);
  if (known.ok()) {
    check(!parameters.ok() || *parameters == *known);
  } else {
    check_error(known.error());
    check(!parameters.ok());  // a value breaking a constraint breaks it either way
  }
  if (parameters.ok()) {
    inputs.parameters = std::move(parameters).value();
  } else {
    check_error(parameters.error());  // a parameter without a Default: evaluated as unknown below
  }
  const AttributeLookup nothing_deployed = [](const std::string&, const std::string&) {
    return std::optional<AttributeValue>();
  };
  for (const auto& id : t.deploy_order()) {
    auto spec = t.profile(id, inputs, nothing_deployed);
    if (!spec.ok()) {
      check_error(spec.error());
      continue;
    }
    check(spec->logical_id == id);
    for (const auto& key : spec->unknown_tag_values) check(spec->tag_locations.count(key) == 1);
    check(spec->unknown_tag_values.empty() || spec->unknown);
    check(spec->tag_locations.size() == spec->tags.size());
  }
  for (const auto& output : t.outputs()) {
    auto value = t.output(output.name, inputs, nothing_deployed);
    if (!value.ok()) {
      check_error(value.error());
      continue;
    }
    check(value->name == output.name);
  }
  return 0;
}
