#include "web/templates.h"

#include <memory>

#include "web/embedded.h"

namespace rectrack::web {

Result<Templates> Templates::Load() {
  Templates t;
  const std::string prefix = "templates/";
  const std::string suffix = ".mustache";
  for (const EmbeddedFile& file : EmbeddedFiles()) {
    std::string name = file.name;
    if (name.rfind(prefix, 0) != 0 || name.size() <= prefix.size() + suffix.size()) continue;
    name = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    std::string source(reinterpret_cast<const char*>(file.data), file.size);
    kainjow::mustache::mustache compiled(source);
    if (!compiled.is_valid()) {
      return Status::InvalidArgument("web/templates/" + name + suffix + ": " +
                                     compiled.error_message());
    }
    t.sources_[name] = std::move(source);
  }
  if (!t.sources_.count("layout")) return Status::InvalidArgument("no layout template built in");
  return t;
}

std::string Templates::Render(const std::string& name, const Data& data) const {
  auto it = sources_.find(name);
  if (it == sources_.end()) return "";
  // Compiled once per thread: a compiled template keeps state while it renders, so threads do
  // not share one, and compiling the layout for every request would cost more than rendering.
  thread_local std::map<const std::string*, std::unique_ptr<kainjow::mustache::mustache>> compiled;
  auto& slot = compiled[&it->second];
  if (!slot) slot = std::make_unique<kainjow::mustache::mustache>(it->second);
  return slot->render(data);
}

std::string Templates::Page(const std::string& name, const Data& data, Data layout) const {
  layout.set("content", Render(name, data));
  return Render("layout", layout);
}

}  // namespace rectrack::web
