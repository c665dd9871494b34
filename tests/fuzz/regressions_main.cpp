// Runs every saved fuzz input (crashes found, turned into regressions) and the round-trip
// corpus through the fuzz targets' checks. Usage: fuzz_regressions DIR...; each DIR holds
// ipynb/ and markdown/ folders.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int ipynb_fuzz_one_input(const std::uint8_t* data, std::size_t size);
extern "C" int markdown_fuzz_one_input(const std::uint8_t* data, std::size_t size);

namespace {

int run_folder(const std::filesystem::path& folder, int (*target)(const std::uint8_t*, std::size_t)) {
  int count = 0;
  if (!std::filesystem::is_directory(folder)) {
    return 0;
  }
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    std::ifstream file(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    std::printf("%s\n", entry.path().filename().c_str());
    target(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());  // NOLINT
    ++count;
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path root(argv[i]);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    count += run_folder(root / "ipynb", ipynb_fuzz_one_input);
    count += run_folder(root / "markdown", markdown_fuzz_one_input);
  }
  std::printf("%d inputs checked\n", count);
  return count > 0 ? 0 : 1;  // no inputs means the paths are wrong: fail rather than pass
}
