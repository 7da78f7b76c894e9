// Internal to the simulator: the deterministic pieces every answer is made of — seeds, a small
// RNG, the filler reply text cut to an exact token count, stream pieces, ids and embeddings.
// Nothing here reads a clock or a global RNG.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::provider::simulator {

// FNV-1a 64 of the model id and the request text: the seed of everything an answer draws.
uint64_t seed_of(std::string_view model_id, std::string_view request_text);

// SplitMix64: small, fast and fully determined by its seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [low, high].
  int64_t between(int64_t low, int64_t high);
  // Uniform in [0, 1).
  double unit();

 private:
  uint64_t state_;
};

// The longest prefix of `text` whose count_tokens() is min(limit, count_tokens(text)), without
// trailing whitespace. A run of letters and digits is cut at a multiple of 4 characters.
std::string_view truncate_to_tokens(std::string_view text, int64_t limit);

struct ReplyText {
  std::string text;
  int64_t tokens = 0;         // count_tokens(text)
  bool cut_by_limit = false;  // the limit, not the natural length, ended it
};

// "Simulated reply from <model_name>." followed by filler sentences, natural length 20–60 tokens
// drawn from `seed`, cut to `max_tokens` when that is smaller.
ReplyText reply_text(std::string_view model_name, uint64_t seed, std::optional<int64_t> max_tokens);

// Splits a reply into stream deltas of one or two words (a word carries the space before it);
// concatenated they give `text` back and their token counts add up to count_tokens(text).
std::vector<std::string> text_pieces(std::string_view text, uint64_t seed);

// Splits JSON text after each ',' and ':' outside strings: fragments that never split a token.
std::vector<std::string> json_pieces(std::string_view json);

// `length` characters from [A-Za-z0-9] drawn from `seed` (ids such as "tooluse_…").
std::string seeded_id(uint64_t seed, size_t length);

// A unit-length vector of `dimension` floats (6 decimals) drawn from the model and the text.
std::vector<double> embedding(std::string_view model_id, std::string_view text, size_t dimension);

// A short lowercase word from the filler word list, drawn from `rng`.
std::string_view filler_word(Rng& rng);

}  // namespace tollgate::provider::simulator
