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
    t.sources_[name] = std::string(reinterpret_cast<const char*>(file.data), file.size);
  }
  // A partial ("_name.mustache", used as {{>name}}) is written into the pages that use it once,
  // here, rather than looked up at every render.
  std::map<std::string, std::string> partials;
  for (auto it = t.sources_.begin(); it != t.sources_.end();) {
    if (it->first[0] != '_') {
      ++it;
      continue;
    }
    partials["{{>" + it->first.substr(1) + "}}"] = it->second;
    it = t.sources_.erase(it);
  }
  for (auto& [name, source] : t.sources_) {
    for (const auto& [tag, text] : partials) {
      for (size_t at = source.find(tag); at != std::string::npos; at = source.find(tag, at)) {
        source.replace(at, tag.size(), text);
        at += text.size();
      }
    }
    kainjow::mustache::mustache compiled(source);
    if (!compiled.is_valid()) {
      return Status::InvalidArgument("web/templates/" + name + suffix + ": " +
                                     compiled.error_message());
    }
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
