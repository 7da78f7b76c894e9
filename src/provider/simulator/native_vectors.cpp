// Native formats without a reply text: embeddings (amazon.titan-embed*, amazon.nova-*embeddings*,
// cohere.embed*) and rerank. Their numbers are drawn from the model id and the input text, so
// the same text always gets the same vector; they report input tokens only and do not stream.
#include <algorithm>
#include <cmath>

#include "provider/simulator/native.h"
#include "provider/simulator/reply.h"

namespace tollgate::provider::simulator {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxDimension = 8192;

json::array vector_json(std::string_view model_id, std::string_view text, size_t dimension) {
  json::array out;
  out.reserve(dimension);
  for (double v : embedding(model_id, text, dimension)) out.push_back(v);
  return out;
}

// An optional dimension field, 1–8192, else `fallback`.
Result<size_t> read_dimension(const Fields& fields, std::string_view key, size_t fallback) {
  auto value = fields.optional_integer(key);
  TOLLGATE_TRY(value);
  if (!*value) return fallback;
  if (**value < 1 || **value > kMaxDimension) {
    return malformed(fields.child(key) + ": " + std::to_string(**value) + " is not between 1 and " +
                     std::to_string(kMaxDimension));
  }
  return static_cast<size_t>(**value);
}

class Embedding final : public Format {
 public:
  enum class Shape { Titan, Cohere, Nova };

  Embedding(Parsed parsed, Shape shape, std::vector<std::string> texts, size_t dimension)
      : shape_(shape), texts_(std::move(texts)), dimension_(dimension) {
    parsed_ = std::move(parsed);
  }

  bool generates_text() const override { return false; }

  std::string body(const Answer& answer, const Timing&) const override {
    json::object out;
    if (shape_ == Shape::Titan) {
      out["embedding"] = vector_json(answer.model_id, texts_.front(), dimension_);
      out["inputTextTokenCount"] = answer.input_tokens;
    } else if (shape_ == Shape::Nova) {
      json::object item;
      item["embeddingType"] = "TEXT";
      item["embedding"] = vector_json(answer.model_id, texts_.front(), dimension_);
      out["embeddings"] = json::array{item};
    } else {
      json::array vectors;
      json::array texts;
      for (const std::string& text : texts_) {
        vectors.push_back(vector_json(answer.model_id, text, dimension_));
        texts.push_back(json::string(text));
      }
      out["embeddings"] = std::move(vectors);
      out["id"] = seeded_id(answer.seed ^ 0xE3Bull, 32);
      out["response_type"] = "embeddings_floats";
      out["texts"] = std::move(texts);
    }
    return json_text(out);
  }

  // Never streamed: generates_text() is false.
  std::vector<StreamEvent> head(const Answer&) const override { return {}; }
  StreamEvent delta(const Answer&, size_t, std::string_view, int64_t) const override { return {}; }
  std::vector<StreamEvent> tail(const Answer&, const Timing&) const override { return {}; }

 private:
  Shape shape_;
  std::vector<std::string> texts_;
  size_t dimension_;
};

Result<FormatPtr> parse_cohere_embed(const json::object& body, const ModelInfo& model) {
  Fields f(body, "#");
  auto texts = f.array("texts");
  TOLLGATE_TRY(texts);
  TOLLGATE_TRY(f.string("input_type"));
  Parsed parsed;
  std::vector<std::string> list;
  for (size_t i = 0; i < (*texts)->size(); ++i) {
    const json::value& text = (**texts)[i];
    if (!text.is_string()) {
      return malformed("#/texts/" + std::to_string(i) +
                       ": expected type: String, found: " + std::string(json_type_name(text)));
    }
    count_input(parsed, text.get_string());
    list.emplace_back(text.get_string());
  }
  if (list.empty()) return malformed("#/texts: expected minimum item count: 1, found: 0");
  auto dimension = read_dimension(f, "output_dimension", starts_with(model.id, "cohere.embed-v4") ? 1536 : 1024);
  TOLLGATE_TRY(dimension);
  return FormatPtr(
      std::make_unique<Embedding>(std::move(parsed), Embedding::Shape::Cohere, std::move(list), *dimension));
}

Result<FormatPtr> parse_nova_embed(const json::object& body) {
  Fields f(body, "#");
  auto params = f.optional_object("singleEmbeddingParams");
  TOLLGATE_TRY(params);
  if (!*params) return f.missing("singleEmbeddingParams");
  Fields p(**params, "#/singleEmbeddingParams");
  auto text = p.optional_object("text");
  TOLLGATE_TRY(text);
  if (!*text) return p.missing("text");
  auto value = Fields(**text, p.child("text")).string("value");
  TOLLGATE_TRY(value);
  Parsed parsed;
  count_input(parsed, *value);
  auto dimension = read_dimension(p, "embeddingDimension", 3072);
  TOLLGATE_TRY(dimension);
  std::vector<std::string> texts{std::string(*value)};
  return FormatPtr(
      std::make_unique<Embedding>(std::move(parsed), Embedding::Shape::Nova, std::move(texts), *dimension));
}

Result<FormatPtr> parse_titan_embed(const json::object& body, const ModelInfo& model) {
  Fields f(body, "#");
  auto text = f.optional_string("inputText");
  TOLLGATE_TRY(text);
  auto image = f.optional_string("inputImage");
  TOLLGATE_TRY(image);
  if (!*text && !*image) return f.missing("inputText");
  Parsed parsed;
  if (*text) count_input(parsed, **text);
  bool wide =
      model.id.find("titan-embed-text-v1") != std::string::npos || model.id.find("g1-text") != std::string::npos;
  auto dimension = read_dimension(f, "dimensions", wide ? 1536 : 1024);
  TOLLGATE_TRY(dimension);
  auto config = f.optional_object("embeddingConfig");
  TOLLGATE_TRY(config);
  if (*config) {
    dimension = read_dimension(Fields(**config, "#/embeddingConfig"), "outputEmbeddingLength", *dimension);
    TOLLGATE_TRY(dimension);
  }
  std::vector<std::string> texts{std::string(*text ? **text : **image)};
  return FormatPtr(
      std::make_unique<Embedding>(std::move(parsed), Embedding::Shape::Titan, std::move(texts), *dimension));
}

class Rerank final : public Format {
 public:
  Rerank(Parsed parsed, std::string query, std::vector<std::string> documents, size_t top_n)
      : query_(std::move(query)), documents_(std::move(documents)), top_n_(top_n) {
    parsed_ = std::move(parsed);
  }

  static Result<FormatPtr> parse(const json::object& body) {
    Fields f(body, "#");
    auto query = f.string("query");
    TOLLGATE_TRY(query);
    auto documents = f.array("documents");
    TOLLGATE_TRY(documents);
    if ((*documents)->empty()) return malformed("#/documents: expected minimum item count: 1, found: 0");
    Parsed parsed;
    count_input(parsed, *query);
    std::vector<std::string> texts;
    for (const json::value& doc : **documents) {
      texts.push_back(doc.is_string() ? std::string(doc.get_string()) : json_text(doc));
      count_input(parsed, texts.back());
    }
    auto top_n = f.optional_integer("top_n");
    TOLLGATE_TRY(top_n);
    if (*top_n && **top_n < 1)
      return malformed("#/top_n: " + std::to_string(**top_n) + " is not greater or equal to 1");
    size_t n = *top_n ? std::min(texts.size(), static_cast<size_t>(**top_n)) : texts.size();
    return FormatPtr(std::make_unique<Rerank>(std::move(parsed), std::string(*query), std::move(texts), n));
  }

  bool generates_text() const override { return false; }

  std::string body(const Answer& answer, const Timing&) const override {
    std::vector<std::pair<double, size_t>> scored;
    for (size_t i = 0; i < documents_.size(); ++i) {
      Rng rng(seed_of(answer.model_id, query_ + '\x1f' + documents_[i]));
      scored.emplace_back(std::round(rng.unit() * 1e6) / 1e6, i);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    json::array results;
    for (size_t i = 0; i < top_n_; ++i) {
      json::object item;
      item["index"] = scored[i].second;
      item["relevance_score"] = scored[i].first;
      results.push_back(std::move(item));
    }
    json::object out;
    out["results"] = std::move(results);
    return json_text(out);
  }

  std::vector<StreamEvent> head(const Answer&) const override { return {}; }
  StreamEvent delta(const Answer&, size_t, std::string_view, int64_t) const override { return {}; }
  std::vector<StreamEvent> tail(const Answer&, const Timing&) const override { return {}; }

 private:
  std::string query_;
  std::vector<std::string> documents_;
  size_t top_n_;
};

}  // namespace

Result<FormatPtr> parse_embedding(const json::object& body, const ModelInfo& model) {
  if (starts_with(model.id, "cohere.")) return parse_cohere_embed(body, model);
  if (body.contains("singleEmbeddingParams") && !body.contains("inputText")) return parse_nova_embed(body);
  return parse_titan_embed(body, model);
}

Result<FormatPtr> parse_rerank(const json::object& body, const ModelInfo&) { return Rerank::parse(body); }

}  // namespace tollgate::provider::simulator
