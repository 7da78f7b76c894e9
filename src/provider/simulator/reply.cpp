#include "provider/simulator/reply.h"

#include <array>
#include <cmath>

#include "provider/simulator/simulator.h"

namespace tollgate::provider::simulator {
namespace {

// Filler sentences are built from words of at most four letters, one token each, so a sentence of
// n tokens is n - 1 words and a full stop.
constexpr std::array<std::string_view, 8> kDeterminers = {"the", "each", "one", "this", "that", "our", "your", "some"};
constexpr std::array<std::string_view, 16> kAdjectives = {"calm", "warm", "cool", "soft", "slow", "old",
                                                          "new",  "blue", "gray", "gold", "wild", "kind",
                                                          "dark", "pale", "tall", "bold"};
constexpr std::array<std::string_view, 24> kNouns = {"road", "town", "hill", "lake", "rain", "wind", "sun",  "moon",
                                                     "star", "tree", "leaf", "bird", "boat", "home", "song", "book",
                                                     "page", "plan", "path", "door", "map",  "lamp", "note", "tide"};
constexpr std::array<std::string_view, 16> kVerbs = {"came", "went", "grew", "rose", "fell", "sat",  "ran",  "hid",
                                                     "slid", "drew", "lay",  "spun", "sang", "woke", "hung", "kept"};
constexpr std::array<std::string_view, 12> kPrepositions = {"by",   "near", "over", "past", "into", "from",
                                                            "with", "upon", "onto", "to",   "at",   "on"};
constexpr std::array<std::string_view, 8> kAdverbs = {"soon", "here", "away", "down", "once", "late", "back", "too"};

// Sentence shapes by length in tokens (4–9): D determiner, A adjective, N noun, V verb, P preposition, R adverb.
constexpr std::array<std::string_view, 6> kShapes = {"DNV", "DANV", "DANVR", "DNVPDN", "DANVPDN", "DANVPDAN"};
constexpr int64_t kShortestSentence = 4;
constexpr int64_t kLongestSentence = 9;

constexpr char kIdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

bool is_alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

template <size_t N>
std::string_view pick(Rng& rng, const std::array<std::string_view, N>& words) {
  return words[static_cast<size_t>(rng.between(0, N - 1))];
}

// A sentence of exactly `tokens` tokens (kShortestSentence–kLongestSentence).
std::string filler_sentence(Rng& rng, int64_t tokens) {
  std::string sentence;
  for (char part : kShapes[static_cast<size_t>(tokens - kShortestSentence)]) {
    if (!sentence.empty()) sentence.push_back(' ');
    switch (part) {
      case 'D':
        sentence.append(pick(rng, kDeterminers));
        break;
      case 'A':
        sentence.append(pick(rng, kAdjectives));
        break;
      case 'N':
        sentence.append(pick(rng, kNouns));
        break;
      case 'V':
        sentence.append(pick(rng, kVerbs));
        break;
      case 'P':
        sentence.append(pick(rng, kPrepositions));
        break;
      default:
        sentence.append(pick(rng, kAdverbs));
        break;
    }
  }
  sentence[0] = static_cast<char>(sentence[0] - 'a' + 'A');
  return sentence + ".";
}

// The length of the next sentence when `remaining` tokens are left: all of them if they fit one
// sentence, else a length that leaves room for at least one more.
int64_t next_sentence_tokens(Rng& rng, int64_t remaining) {
  if (remaining <= kLongestSentence) return remaining;
  return rng.between(kShortestSentence, std::min(kLongestSentence, remaining - kShortestSentence));
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && is_space(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

}  // namespace

int64_t count_tokens(std::string_view text) {
  int64_t tokens = 0;
  int64_t run = 0;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (is_alnum(c)) {
      ++run;
      continue;
    }
    tokens += (run + 3) / 4;
    run = 0;
    if (!is_space(c) && !is_continuation(c)) ++tokens;
  }
  return tokens + (run + 3) / 4;
}

uint64_t seed_of(std::string_view model_id, std::string_view request_text) {
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view bytes) {
    for (char c : bytes) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 1099511628211ull;
    }
  };
  mix(model_id);
  mix(std::string_view("\0", 1));
  mix(request_text);
  return hash;
}

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t Rng::between(int64_t low, int64_t high) {
  return low + static_cast<int64_t>(next() % static_cast<uint64_t>(high - low + 1));
}

double Rng::unit() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }

std::string_view truncate_to_tokens(std::string_view text, int64_t limit) {
  int64_t tokens = 0;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (is_alnum(c)) {
      size_t end = i;
      while (end < text.size() && is_alnum(static_cast<unsigned char>(text[end]))) ++end;
      int64_t run_tokens = static_cast<int64_t>((end - i + 3) / 4);
      if (tokens + run_tokens > limit) return trim_right(text.substr(0, i + static_cast<size_t>(limit - tokens) * 4));
      tokens += run_tokens;
      i = end;
      continue;
    }
    if (!is_space(c) && !is_continuation(c)) {
      if (tokens + 1 > limit) return trim_right(text.substr(0, i));
      ++tokens;
    }
    ++i;
  }
  return text;
}

ReplyText reply_text(std::string_view model_name, uint64_t seed, std::optional<int64_t> max_tokens) {
  Rng rng(seed);
  int64_t natural = rng.between(20, 60);
  int64_t target = max_tokens ? std::min(*max_tokens, natural) : natural;
  std::string text = "Simulated reply from " + std::string(model_name) + ".";
  int64_t remaining = natural - count_tokens(text);
  while (remaining >= kShortestSentence) {
    int64_t tokens = next_sentence_tokens(rng, remaining);
    text.append(" ").append(filler_sentence(rng, tokens));
    remaining -= tokens;
  }
  if (remaining > 0) text.append(" ").append(filler_sentence(rng, kLongestSentence));  // cut to length below
  ReplyText out;
  out.text = std::string(truncate_to_tokens(text, target));
  out.tokens = count_tokens(out.text);
  out.cut_by_limit = max_tokens && *max_tokens < natural;
  return out;
}

std::vector<std::string> text_pieces(std::string_view text, uint64_t seed) {
  Rng rng(seed ^ 0x5049454345ull);
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < text.size()) {
    int64_t words = rng.between(1, 2);
    size_t end = start;
    for (int64_t w = 0; w < words && end < text.size(); ++w) {
      while (end < text.size() && text[end] == ' ') ++end;  // the space before a word belongs to it
      while (end < text.size() && text[end] != ' ') ++end;
    }
    pieces.emplace_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

std::vector<std::string> json_pieces(std::string_view json) {
  std::vector<std::string> pieces;
  bool in_string = false;
  bool escaped = false;
  size_t start = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == ',' || c == ':') {
      pieces.emplace_back(json.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  if (start < json.size()) pieces.emplace_back(json.substr(start));
  return pieces;
}

std::string seeded_id(uint64_t seed, size_t length) {
  Rng rng(seed ^ 0x1D5ull);
  std::string id;
  for (size_t i = 0; i < length; ++i) id.push_back(kIdAlphabet[rng.between(0, sizeof(kIdAlphabet) - 2)]);
  return id;
}

std::vector<double> embedding(std::string_view model_id, std::string_view text, size_t dimension) {
  Rng rng(seed_of(model_id, text));
  std::vector<double> values(dimension);
  double norm = 0;
  for (double& v : values) {
    v = rng.unit() * 2 - 1;
    norm += v * v;
  }
  norm = std::sqrt(norm);
  for (double& v : values) v = std::round(v / norm * 1e6) / 1e6;
  return values;
}

std::string_view filler_word(Rng& rng) { return pick(rng, kNouns); }

}  // namespace tollgate::provider::simulator
