#include "provider/openai/chat_stream.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "provider/openai/chat_json.h"
#include "provider/openai/chat_translation.h"

namespace tollgate::provider::openai {
namespace {

using namespace detail;

StreamEvent event(std::string type, const json::object& payload) { return {std::move(type), json::serialize(payload)}; }

StreamEvent block_delta(int index, json::object delta) {
  json::object payload;
  payload["contentBlockIndex"] = index;
  payload["delta"] = std::move(delta);
  return event("contentBlockDelta", payload);
}

}  // namespace

Status ChatStreamTranslator::on_chunk(std::string_view data, std::vector<StreamEvent>& out) {
  boost::system::error_code ec;
  json::value root = json::parse(data, ec);
  if (ec || !root.is_object()) {
    return Error(ErrorCode::ModelStreamError, "The model server sent a stream event that is not a JSON object.",
                 std::string(data.substr(0, 500)));
  }
  const json::object& chunk = root.get_object();
  if (member(chunk, "error")) {
    return Error(ErrorCode::ModelStreamError, "The model server failed mid-stream: " + upstream_message(data),
                 std::string(data.substr(0, 1000)));
  }
  if (!started_) {
    out.push_back({"messageStart", R"({"role":"assistant"})"});
    started_ = true;
  }
  if (const json::value* usage = member(chunk, "usage"); usage && usage->is_object()) usage_ = usage_from_json(*usage);
  if (const json::value* choices = member(chunk, "choices"); choices && choices->is_array()) {
    for (const auto& value : choices->get_array()) {
      const json::object* choice = value.if_object();
      const json::value* index = choice ? member(*choice, "index") : nullptr;
      if (!choice || (index && as_integer(*index).value_or(0) != 0)) continue;
      on_choice(*choice, out);
    }
  }
  return {};
}

void ChatStreamTranslator::on_choice(const json::object& choice, std::vector<StreamEvent>& out) {
  bool content = false;
  if (const json::value* d = member(choice, "delta"); d && d->is_object()) {
    const json::object& delta = d->get_object();
    auto reasoning = string_member(delta, "reasoning_content");
    if (!reasoning) reasoning = string_member(delta, "reasoning");
    if (reasoning && !reasoning->empty()) {
      int index = open(Block::Reasoning, out);
      out.push_back(block_delta(index, {{"reasoningContent", json::object{{"text", *reasoning}}}}));
      content = true;
    }
    if (auto text = string_member(delta, "content"); text && !text->empty()) {
      int index = open(Block::Text, out);
      out.push_back(block_delta(index, {{"text", *text}}));
      content = true;
    }
    if (const json::value* calls = member(delta, "tool_calls"); calls && calls->is_array()) {
      const json::array& list = calls->get_array();
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].is_object() && on_tool_call(list[i].get_object(), i, out)) content = true;
      }
    }
  }
  if (content) ++content_chunks_;
  if (auto finish = string_member(choice, "finish_reason")) {
    stop_reason_ = stop_reason(*finish, string_member(choice, "stop_reason").has_value());
    // Some servers end a tool-calling turn with "stop".
    if (stop_reason_ == "end_turn" && !tools_.empty()) stop_reason_ = "tool_use";
    close(out);
  }
}

bool ChatStreamTranslator::on_tool_call(const json::object& call, size_t position, std::vector<StreamEvent>& out) {
  const json::value* index_value = member(call, "index");
  int index = static_cast<int>(index_value ? as_integer(*index_value).value_or(0) : static_cast<int64_t>(position));
  ToolCall& tool = tools_[index];
  if (auto id = string_member(call, "id"); id && !id->empty() && tool.id.empty()) tool.id = *id;
  std::string_view arguments;
  if (const json::value* f = member(call, "function"); f && f->is_object()) {
    if (auto name = string_member(f->get_object(), "name"); name && !name->empty() && tool.name.empty()) {
      tool.name = *name;
    }
    arguments = string_member(f->get_object(), "arguments").value_or("");
  }
  if (tool.block) {
    if (arguments.empty()) return false;
    out.push_back(block_delta(*tool.block, {{"toolUse", json::object{{"input", arguments}}}}));
    return true;
  }
  tool.pending_arguments += arguments;
  if (tool.name.empty()) return !arguments.empty();
  close(out);
  tool.id = tool_use_id(tool.id);
  tool.block = next_block_++;
  open_ = Block::Tool;
  open_block_ = *tool.block;
  json::object start{{"toolUse", json::object{{"toolUseId", tool.id}, {"name", tool.name}}}};
  json::object payload{{"contentBlockIndex", *tool.block}, {"start", std::move(start)}};
  out.push_back(event("contentBlockStart", payload));
  if (!tool.pending_arguments.empty()) {
    out.push_back(block_delta(*tool.block, {{"toolUse", json::object{{"input", tool.pending_arguments}}}}));
    tool.pending_arguments.clear();
  }
  return true;
}

int ChatStreamTranslator::open(Block kind, std::vector<StreamEvent>& out) {
  if (open_ == kind && kind != Block::Tool) return open_block_;
  close(out);
  open_ = kind;
  open_block_ = next_block_++;
  return open_block_;
}

void ChatStreamTranslator::close(std::vector<StreamEvent>& out) {
  if (open_ == Block::None) return;
  out.push_back(event("contentBlockStop", {{"contentBlockIndex", open_block_}}));
  open_ = Block::None;
  open_block_ = -1;
}

void ChatStreamTranslator::finish(int64_t latency_ms, std::vector<StreamEvent>& out) {
  if (!started_) {
    out.push_back({"messageStart", R"({"role":"assistant"})"});
    started_ = true;
  }
  close(out);
  std::string_view reason = stop_reason_.empty() ? std::string_view("end_turn") : std::string_view(stop_reason_);
  out.push_back(event("messageStop", {{"stopReason", reason}}));
  json::object metadata;
  metadata["usage"] = usage_to_json(usage());
  metadata["metrics"] = json::object{{"latencyMs", latency_ms}};
  out.push_back(event("metadata", metadata));
}

ledger::TokenCounts ChatStreamTranslator::usage() const {
  if (usage_) return *usage_;
  return ledger::TokenCounts{0, content_chunks_, 0, 0};
}

}  // namespace tollgate::provider::openai
