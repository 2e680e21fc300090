#include "web/templates.h"

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
  kainjow::mustache::mustache compiled(it->second);
  return compiled.render(data);
}

std::string Templates::Page(const std::string& name, const Data& data, Data layout) const {
  layout.set("content", Render(name, data));
  return Render("layout", layout);
}

}  // namespace rectrack::web
