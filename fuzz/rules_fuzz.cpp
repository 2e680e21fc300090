// libFuzzer target: the alert rules and calendar loader (engine/rules.h: Rules::LoadDir) on any
// YAML text, against the bundled workflows. An input beginning with 'c' is the rest as the
// working-day calendar (calendars/england-and-wales.yaml); any other, the rest as the rules file
// (alerts.yaml). The other file stays as bundled, so each half meets a valid partner.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/rules.h"
#include "fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;

// A private copy of the bundled rules directory, made once per process.
const fs::path& RulesDir() {
  static const fs::path dir = [] {
    const fs::path made =
        fs::temp_directory_path() / ("rectrack-rules-fuzz-" + std::to_string(::getpid()));
    fs::remove_all(made);
    fs::create_directories(made / "calendars");
    const fs::path bundled = rectrack::fuzz::Source() + "/rules";
    fs::copy_file(bundled / "alerts.yaml", made / "alerts.yaml");
    fs::copy_file(bundled / "calendars" / "england-and-wales.yaml",
                  made / "calendars" / "england-and-wales.yaml");
    std::atexit([] { fs::remove_all(RulesDir()); });
    return made;
  }();
  return dir;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Write(const fs::path& path, const char* data, size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(data, static_cast<long>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rectrack::Workflow& workflow = rectrack::fuzz::BundledWorkflow();
  static const rectrack::Workflow& actions = rectrack::fuzz::BundledActionWorkflow();
  if (size == 0) return 0;
  const fs::path file = data[0] == 'c' ? RulesDir() / "calendars" / "england-and-wales.yaml"
                                       : RulesDir() / "alerts.yaml";
  static const std::string bundled_rules = Read(RulesDir() / "alerts.yaml");
  static const std::string bundled_calendar =
      Read(RulesDir() / "calendars" / "england-and-wales.yaml");
  Write(file, reinterpret_cast<const char*>(data) + 1, size - 1);
  auto loaded = rectrack::Rules::LoadDir(RulesDir().string(), workflow, &actions, false);
  (void)loaded;
  const std::string& original = data[0] == 'c' ? bundled_calendar : bundled_rules;
  Write(file, original.data(), original.size());
  return 0;
}
