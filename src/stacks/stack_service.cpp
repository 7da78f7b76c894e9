#include "stacks/stack_service.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

#include "core/ids.h"
#include "core/time_format.h"

namespace tollgate::stacks {
namespace {

struct LiveProfile {
  profiles::ProfileView view;
  std::vector<Tag> tags;
};

std::optional<AttributeValue> attribute_of(const LiveProfile& live, const std::string& attribute) {
  const auto& v = live.view;
  if (attribute == "InferenceProfileArn" || attribute == "InferenceProfileIdentifier") return v.arn;
  if (attribute == "InferenceProfileId") return v.id;
  if (attribute == "Status") return std::string("ACTIVE");
  if (attribute == "Type") return std::string(profiles::to_string(v.type));
  if (attribute == "CreatedAt") return v.created_at ? format_iso8601(*v.created_at) : std::string();
  if (attribute == "UpdatedAt") return v.updated_at ? format_iso8601(*v.updated_at) : std::string();
  if (attribute == "Models") return v.model_arns;
  return std::nullopt;
}

std::string quoted(const std::optional<std::string>& text) { return text ? "'" + *text + "'" : "(none)"; }

// What differs between a profile as declared and as it is (tags compared as sets).
std::vector<std::string> tag_differences(const std::vector<Tag>& live, const std::vector<Tag>& wanted) {
  std::map<std::string, std::string> before, after;
  for (const auto& t : live) before[t.key] = t.value;
  for (const auto& t : wanted) after[t.key] = t.value;
  std::vector<std::string> out;
  for (const auto& [key, value] : after) {
    auto old = before.find(key);
    if (old == before.end()) {
      out.push_back("tag " + key + " added: '" + value + "'");
    } else if (old->second != value) {
      out.push_back("tag " + key + ": '" + old->second + "' → '" + value + "'");
    }
  }
  for (const auto& [key, value] : before) {
    if (!after.count(key)) out.push_back("tag " + key + " removed (was '" + value + "')");
  }
  return out;
}

Status check_stack_name(const std::string& name) {
  static const std::regex kPattern("[a-zA-Z][-a-zA-Z0-9]*");
  if (name.empty() || name.size() > 128 || !std::regex_match(name, kPattern)) {
    return Error(ErrorCode::Validation, "Stack name '" + name +
                                            "' must start with a letter and contain only letters, digits and "
                                            "hyphens (at most 128 characters), as CloudFormation requires.");
  }
  return {};
}

// Whether two states of a stack store the same resources and exports (timestamps aside).
bool same_state(const StackRecord& a, const StackRecord& b) {
  auto resources = [](const StackRecord& r) {
    std::map<std::string, std::pair<std::string, bool>> out;
    for (const auto& [id, state] : r.resources) out[id] = {state.profile_arn, state.retain};
    return out;
  };
  auto exports = [](const StackRecord& r) {
    std::map<std::string, std::string> out;
    for (const auto& e : r.exports) out[e.name] = e.value;
    return out;
  };
  return resources(a) == resources(b) && exports(a) == exports(b);
}

profiles::CreateRequest create_request_of(const ProfileSpec& spec) {
  profiles::CreateRequest request;
  request.name = spec.name;
  request.description = spec.description;
  request.copy_from = spec.copy_from;
  request.tags = spec.tags;
  return request;
}

}  // namespace

// One apply: the template, the stored state, the live profiles, and the plan being made or carried out.
struct StackService::Run {
  StackService& service;
  const profiles::Caller& caller;
  const ApplyRequest& request;
  Template tmpl;
  StackInputs inputs;
  StackRecord record;
  std::map<std::string, LiveProfile> live;     // by logical id: the stack's profiles that exist now
  std::set<std::string> pending;               // logical ids whose profile is yet to be (re)created
  std::map<std::string, ProfileSpec> planned;  // their specs, as far as known before apply
  std::vector<std::string> done;               // the changes carried out, e.g. "Create Support (arn)"
  std::vector<std::string> problems;

  AttributeLookup lookup() const {
    return [this](const std::string& id, const std::string& attribute) -> std::optional<AttributeValue> {
      if (pending.count(id)) return std::nullopt;
      auto it = live.find(id);
      if (it == live.end()) return std::nullopt;
      return attribute_of(it->second, attribute);
    };
  }

  // For the plan's checks: stand-ins of the right shape (an application profile ARN, an id) for the
  // attributes of a profile yet to be created, so a profile referring to it is checked before anything is.
  AttributeLookup stand_in_lookup() const {
    return [this](const std::string& id, const std::string& attribute) -> std::optional<AttributeValue> {
      if (auto known = lookup()(id, attribute)) return known;
      LiveProfile stand_in;
      stand_in.view.name = id;
      if (auto spec = planned.find(id); spec != planned.end()) stand_in.view.model_arns = {spec->second.copy_from};
      stand_in.view.id = "000000000000";
      stand_in.view.arn = "arn:aws:bedrock:" + caller.region + ":" + caller.account_id +
                          ":application-inference-profile/" + stand_in.view.id;
      return attribute_of(stand_in, attribute);
    };
  }

  Status load_live() {
    for (const auto& [id, state] : record.resources) {
      auto view = service.profiles_.get(caller, state.profile_arn);
      if (!view.ok()) {
        if (view.error().code() == ErrorCode::ResourceNotFound) continue;  // deleted outside the stack
        return std::move(view).error();
      }
      auto tags = service.profiles_.list_tags(caller, state.profile_arn);
      TOLLGATE_TRY(tags);
      live[id] = {std::move(view).value(), std::move(tags).value()};
    }
    return {};
  }

  // The change one resource needs, given its spec.
  ResourceChange decide(const ProfileSpec& spec) const {
    ResourceChange change{"Create", spec.logical_id, kProfileType, "", {}};
    auto it = live.find(spec.logical_id);
    if (it == live.end()) {
      if (record.resources.count(spec.logical_id))
        change.details.push_back("its profile was deleted outside the stack");
      return change;
    }
    const LiveProfile& current = it->second;
    change.physical_id = current.view.arn;
    const std::string& source = current.view.source_arn;
    if (current.view.name != spec.name) {
      change.details.push_back("InferenceProfileName: '" + current.view.name + "' → '" + spec.name + "'");
    }
    if (source != spec.copy_from) change.details.push_back("ModelSource.CopyFrom: " + source + " → " + spec.copy_from);
    if (!change.details.empty()) {
      change.action = "Replace";
      if (resource_of(spec.logical_id).retain_on_replace) {
        change.details.push_back("UpdateReplacePolicy Retain: the old profile is kept, no longer in the stack");
      }
      return change;
    }
    const std::optional<std::string> description =
        current.view.description.empty() ? std::nullopt : std::optional(current.view.description);
    if (description != spec.description) {
      change.details.push_back("Description: " + quoted(description) + " → " + quoted(spec.description));
    }
    for (auto& d : tag_differences(current.tags, spec.tags)) change.details.push_back(std::move(d));
    change.removes_tags = std::any_of(current.tags.begin(), current.tags.end(), [&](const Tag& t) {
      return std::none_of(spec.tags.begin(), spec.tags.end(), [&](const Tag& w) { return w.key == t.key; });
    });
    change.action = change.details.empty() ? "NoChange" : "Update";
    return change;
  }

  const TemplateResource& resource_of(const std::string& logical_id) const {
    return *std::find_if(tmpl.resources().begin(), tmpl.resources().end(),
                         [&](const TemplateResource& r) { return r.logical_id == logical_id; });
  }

  void check_name_is_free(const ProfileSpec& spec, const ResourceChange& change,
                          const std::map<std::string, std::string>& stack_names,
                          const std::set<std::string>& existing_names) {
    const bool same_name_replace = change.action == "Replace" && live.at(spec.logical_id).view.name == spec.name;
    if (same_name_replace && resource_of(spec.logical_id).retain_on_replace) {
      return problem(spec, "UpdateReplacePolicy Retain keeps the old profile, and with it the name '" + spec.name +
                               "' the replacement needs; change InferenceProfileName too");
    }
    if (same_name_replace) return;  // the old profile is deleted first
    if (auto holder = stack_names.find(spec.name); holder != stack_names.end()) {
      problem(spec, "the name '" + spec.name + "' still belongs to the profile of resource '" + holder->second +
                        "' of this stack, which is deleted or renamed only after the new profiles are created; "
                        "choose another InferenceProfileName, or apply in two steps");
    } else if (existing_names.count(spec.name)) {
      problem(spec, "an inference profile named '" + spec.name +
                        "' already exists outside this stack; choose another InferenceProfileName");
    }
  }

  // What CreateInferenceProfile would say about the profile, with stand-ins for values known only after
  // apply.
  void check_as_created(const ProfileSpec& spec) {
    const Result<ProfileSpec> checked = spec.unknown ? tmpl.profile(spec.logical_id, inputs, stand_in_lookup()) : spec;
    if (!checked.ok()) return problem(spec, checked.error().message());
    if (checked->unknown) return;  // a parameter without value: only in `tollgate validate`, never here
    if (auto created = service.profiles_.check_create(caller, create_request_of(*checked)); !created.ok()) {
      problem(spec, created.error().message());
    }
  }

  void problem(const ProfileSpec& spec, const std::string& what) {
    problems.push_back(spec.where.str() + ": resource '" + spec.logical_id + "': " + what);
  }

  // Steps 2 and 3: the change set, every create and update checked.
  Result<std::vector<ResourceChange>> plan() {
    std::vector<ResourceChange> changes;
    auto existing_names = application_profile_names();
    TOLLGATE_TRY(existing_names);
    std::set<std::string> names_in_template;
    // The stack's profiles keep their names until their resource's step (a replacement's old profile) or
    // the very end (deletes): a new profile cannot take one over in the same apply.
    std::map<std::string, std::string> stack_names;  // name → logical id
    for (const auto& [id, current] : live) stack_names[current.view.name] = id;
    for (const auto& id : tmpl.deploy_order()) {
      auto spec = tmpl.profile(id, inputs, lookup());
      TOLLGATE_TRY(spec);
      ResourceChange change = decide(*spec);
      if (!names_in_template.insert(spec->name).second) {
        problem(*spec, "another resource of the template is also named '" + spec->name + "'");
      }
      if (change.action == "Create" || change.action == "Replace") {
        pending.insert(id);
        planned[id] = *spec;
        check_name_is_free(*spec, change, stack_names, *existing_names);
      }
      if (change.action != "NoChange") check_as_created(*spec);
      changes.push_back(std::move(change));
    }
    for (const auto& [id, state] : record.resources) {
      if (std::find(tmpl.deploy_order().begin(), tmpl.deploy_order().end(), id) != tmpl.deploy_order().end()) continue;
      ResourceChange change{state.retain ? "Retain" : "Delete", id, kProfileType, state.profile_arn, {}};
      if (!live.count(id)) change.details.push_back("already deleted outside the stack");
      if (state.retain) change.details.push_back("DeletionPolicy Retain: the profile is kept, no longer in the stack");
      changes.push_back(std::move(change));
    }
    for (const auto& resource : tmpl.resources()) {
      if (resource.type == kProfileType) continue;
      changes.push_back({"Skip",
                         resource.logical_id,
                         resource.type,
                         "",
                         {resource.where.str() + ": " + resource.type + " is not managed by tollgate; not deployed"}});
    }
    TOLLGATE_TRY(check_exports());
    TOLLGATE_TRY(authorize(changes));
    if (!problems.empty()) {
      std::string message = "Nothing was changed; the stack has " + std::to_string(problems.size()) + " problem(s):";
      for (const auto& p : problems) message += "\n  " + p;
      return Error(ErrorCode::Validation, std::move(message));
    }
    return changes;
  }

  // The actions each change performs, as the Bedrock API would authorize them one by one.
  Status authorize(const std::vector<ResourceChange>& changes) const {
    if (!request.authorize) return {};
    const std::string new_profile =
        "arn:aws:bedrock:" + caller.region + ":" + caller.account_id + ":application-inference-profile/*";
    for (const auto& c : changes) {
      std::vector<std::pair<std::string, std::string>> needed;
      if (c.action == "Create" || c.action == "Replace")
        needed.emplace_back("bedrock:CreateInferenceProfile", new_profile);
      const bool deletes_old = c.action == "Replace" && !resource_of(c.logical_id).retain_on_replace;
      if (deletes_old || c.action == "Delete") needed.emplace_back("bedrock:DeleteInferenceProfile", c.physical_id);
      if (c.action == "Update") {
        needed.emplace_back("bedrock:TagResource", c.physical_id);
        if (c.removes_tags) needed.emplace_back("bedrock:UntagResource", c.physical_id);
      }
      for (const auto& [action, resource] : needed) TOLLGATE_TRY(request.authorize(action, resource));
    }
    return {};
  }

  Result<std::set<std::string>> application_profile_names() const {
    std::set<std::string> names;
    profiles::ListRequest list;
    list.type = profiles::ProfileType::Application;
    list.max_results = 1000;
    while (true) {
      auto page = service.profiles_.list(caller, list);
      TOLLGATE_TRY(page);
      for (const auto& p : page->profiles) names.insert(p.name);
      if (!page->next_token) return names;
      list.next_token = page->next_token;
    }
  }

  Status check_exports() {
    std::set<std::string> seen;
    for (const auto& output : tmpl.outputs()) {
      auto value = tmpl.output(output.name, inputs, lookup());
      if (!value.ok() || value->export_name.empty()) continue;
      if (!seen.insert(value->export_name).second) {
        problems.push_back(output.where.str() + ": export name '" + value->export_name + "' is used twice");
      }
      auto owner = service.store_.export_owner(caller.account_id, caller.region, value->export_name, record.name);
      TOLLGATE_TRY(owner);
      if (*owner) {
        problems.push_back(output.where.str() + ": export name '" + value->export_name +
                           "' is already exported by stack '" + **owner + "'");
      }
    }
    return {};
  }

  Status save() {
    record.updated_at = service.clock_.now();
    return service.store_.save(record);
  }

  Result<LiveProfile> create(const ProfileSpec& spec) {
    auto created = service.profiles_.create(caller, create_request_of(spec));
    TOLLGATE_TRY(created);
    return LiveProfile{std::move(created).value(), spec.tags};
  }

  Status remove(const std::string& arn) {
    auto removed = service.profiles_.remove(caller, arn);
    if (!removed.ok() && removed.error().code() != ErrorCode::ResourceNotFound) return removed;
    return {};
  }

  // Step 4 for one resource: decided again with the values known now (those of resources created earlier).
  Status carry_out(const std::string& id, bool retain, bool retain_on_replace) {
    auto spec = tmpl.profile(id, inputs, lookup());
    TOLLGATE_TRY(spec);
    const ResourceChange change = decide(*spec);
    if (change.action == "Update") {
      profiles::ProfileUpdate update;
      const LiveProfile& current = live.at(id);
      const std::optional<std::string> description =
          current.view.description.empty() ? std::nullopt : std::optional(current.view.description);
      if (description != spec->description) update.description = spec->description;
      if (!tag_differences(current.tags, spec->tags).empty()) update.tags = spec->tags;
      auto updated = service.profiles_.update(caller, current.view.arn, update);
      TOLLGATE_TRY(updated);
      live[id] = {std::move(updated).value(), spec->tags};
    } else if (change.action == "Replace") {
      // A new name: the new profile first, recorded, then the old one deleted. The same name: names are
      // unique, so the old one goes first.
      const std::string old_arn = live.at(id).view.arn;
      const bool same_name = live.at(id).view.name == spec->name;
      if (same_name) TOLLGATE_TRY(remove(old_arn));
      auto created = create(*spec);
      TOLLGATE_TRY(created);
      live[id] = std::move(created).value();
      record.resources[id] = {live.at(id).view.arn, retain};
      TOLLGATE_TRY(save());
      if (!same_name && !retain_on_replace) TOLLGATE_TRY(remove(old_arn));
    } else if (change.action == "Create") {
      auto created = create(*spec);
      TOLLGATE_TRY(created);
      live[id] = std::move(created).value();
    }
    pending.erase(id);
    record.resources[id] = {live.at(id).view.arn, retain};
    if (change.action == "NoChange") return {};
    done.push_back(change.action + " " + id + " (" + live.at(id).view.arn + ")");
    return save();
  }

  // Step 4. A failure part-way says what was done before it; the state saved after each change lets the
  // next apply pick up from there.
  Status execute(const std::vector<ResourceChange>& changes) {
    for (const auto& id : tmpl.deploy_order()) {
      const TemplateResource& resource = resource_of(id);
      if (Status carried = carry_out(id, resource.retain, resource.retain_on_replace); !carried.ok()) {
        return stopped_at(id, carried.error());
      }
    }
    for (const auto& change : changes) {
      if (change.action != "Delete" && change.action != "Retain") continue;
      if (change.action == "Delete") {
        if (Status removed = remove(change.physical_id); !removed.ok()) {
          return stopped_at(change.logical_id, removed.error());
        }
        done.push_back("Delete " + change.logical_id + " (" + change.physical_id + ")");
      }
      record.resources.erase(change.logical_id);
      live.erase(change.logical_id);
      if (Status saved = save(); !saved.ok()) return stopped_at(change.logical_id, saved.error());
    }
    return {};
  }

  Error stopped_at(const std::string& logical_id, const Error& error) const {
    std::string message = "The apply stopped at resource '" + logical_id + "': " + error.message();
    if (done.empty()) {
      message += " Nothing was changed before it.";
    } else {
      message += " Done before it:";
      for (const auto& step : done) message += " " + step + ";";
      message.back() = '.';
    }
    return Error(error.code(),
                 message + " The stack's state is saved after each change: fix the cause and apply again to finish.",
                 error.detail());
  }

  void evaluate_outputs(ApplyResult& result) {
    record.exports.clear();
    for (const auto& output : tmpl.outputs()) {
      auto value = tmpl.output(output.name, inputs, lookup());
      if (!value.ok()) {
        result.skipped_outputs.push_back(output.name + ": " + value.error().message());
        continue;
      }
      if (!value->export_name.empty() && !value->unknown) record.exports.push_back({value->export_name, value->value});
      result.outputs.push_back(std::move(value).value());
    }
  }
};

StackService::StackService(profiles::ProfileService& profiles, StackStore& store, const Clock& clock)
    : profiles_(profiles), store_(store), clock_(clock) {}

Result<ApplyResult> StackService::apply(const profiles::Caller& caller, const ApplyRequest& request) {
  TOLLGATE_TRY(check_stack_name(request.stack_name));
  auto tmpl = Template::parse(request.template_body, request.template_file);
  TOLLGATE_TRY(tmpl);
  auto parameters = tmpl->resolve_parameters(request.parameters);
  TOLLGATE_TRY(parameters);

  std::unique_lock lock(apply_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    // Waiting would hold one of the few control-plane threads for the length of the other apply.
    return Error(ErrorCode::Conflict, "Another apply is in progress on this gateway; retry when it has finished.");
  }
  auto stored = store_.find(caller.account_id, caller.region, request.stack_name);
  TOLLGATE_TRY(stored);
  Run run{*this, caller, request, std::move(tmpl).value(), {}, {}, {}, {}, {}};
  const bool new_stack = !*stored;
  if (*stored) {
    run.record = std::move(**stored);
  } else {
    const TimePoint now = clock_.now();
    run.record = {caller.account_id,
                  caller.region,
                  request.stack_name,
                  "arn:aws:cloudformation:" + caller.region + ":" + caller.account_id + ":stack/" + request.stack_name +
                      "/" + new_resource_id(32),
                  {},
                  {},
                  now,
                  now};
  }
  run.inputs = {request.stack_name, run.record.stack_id, caller.account_id, caller.region,
                std::move(parameters).value()};
  const StackRecord before = run.record;
  TOLLGATE_TRY(run.load_live());
  auto changes = run.plan();
  TOLLGATE_TRY(changes);

  ApplyResult result;
  result.stack_name = request.stack_name;
  result.stack_id = run.record.stack_id;
  result.dry_run = request.dry_run;
  result.changes = std::move(changes).value();
  if (!request.dry_run) {
    run.pending.clear();
    TOLLGATE_TRY(run.execute(result.changes));
  }
  run.evaluate_outputs(result);
  // Saved when its state changed (or it is new): a re-apply that changes nothing writes nothing.
  if (!request.dry_run && (new_stack || !same_state(before, run.record))) TOLLGATE_TRY(run.save());
  return result;
}

}  // namespace tollgate::stacks
