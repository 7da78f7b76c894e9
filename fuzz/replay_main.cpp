// Stand-in for libFuzzer's driver where the compiler has none (GCC): links with any fuzz target's
// LLVMFuzzerTestOneInput and
//   1. runs every file given on the command line, and every file inside each folder given
//      (recursively) — the committed seed corpus;
//   2. then runs --random=N pseudo-random inputs (default 5000): half mutations of the corpus
//      files (byte flips, insertions, deletions, splices), half fresh strings drawn from an
//      alphabet rich in the bytes the parsers care about.
// The generator has a fixed seed (--seed=S to change it), so a failure replays exactly. Exits 0
// when every input ran; a failed check inside the target aborts the process.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;

void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> load_corpus(const std::vector<std::string>& paths) {
  std::vector<std::string> corpus;
  for (const auto& arg : paths) {
    if (fs::is_directory(arg)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) corpus.push_back(read_file(file));
    } else if (fs::is_regular_file(arg)) {
      corpus.push_back(read_file(arg));
    } else {
      std::fprintf(stderr, "replay: no such file or folder: %s\n", arg.c_str());
      std::exit(2);
    }
  }
  return corpus;
}

class InputGenerator {
 public:
  InputGenerator(const std::vector<std::string>& corpus, uint64_t seed) : corpus_(corpus), rng_(seed) {}

  std::string next() { return corpus_.empty() || coin() ? fresh() : mutate(pick_corpus()); }

 private:
  static constexpr std::string_view kAlphabet =
      "AWS4-HMAC-SHA256 Credential=/SignedHeaders=;Signature=,&?%%%=.._~+ \t\r\n:0123456789abcdefABCDEF"
      "X-Amz-Date\x00\x7f\x80\xe1\x88\xb4\xff"sv;  // sv: keeps the NUL

  bool coin() { return (rng_() & 1) != 0; }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  const std::string& pick_corpus() { return corpus_[below(corpus_.size())]; }
  char random_byte() {
    return coin() ? kAlphabet[below(kAlphabet.size())] : static_cast<char>(rng_() & 0xFF);
  }

  std::string fresh() {
    std::string out(below(256), '\0');
    for (char& c : out) c = random_byte();
    return out;
  }

  std::string mutate(std::string input) {
    for (size_t edits = 1 + below(4); edits > 0; --edits) {
      size_t pos = below(input.size() + 1);
      switch (below(4)) {
        case 0:
          if (pos < input.size()) input[pos] = random_byte();
          break;
        case 1:
          input.insert(pos, 1, random_byte());
          break;
        case 2:
          input.erase(pos, below(8));
          break;
        default: {
          const std::string& other = pick_corpus();
          size_t from = below(other.size() + 1);
          input.insert(pos, other.substr(from, below(32)));
        }
      }
    }
    return input;
  }

  const std::vector<std::string>& corpus_;
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  size_t random_runs = 5000;
  uint64_t seed = 0x5167345;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--random=")) {
      random_runs = std::stoul(std::string(arg.substr(9)));
    } else if (arg.starts_with("--seed=")) {
      seed = std::stoull(std::string(arg.substr(7)));
    } else {
      paths.emplace_back(arg);
    }
  }
  std::vector<std::string> corpus = load_corpus(paths);
  for (const auto& input : corpus) run(input);
  InputGenerator generator(corpus, seed);
  for (size_t i = 0; i < random_runs; ++i) run(generator.next());
  std::printf("replay: %zu corpus inputs and %zu pseudo-random inputs ran\n", corpus.size(), random_runs);
  return 0;
}
