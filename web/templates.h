// Templates: the pages' markup, web/templates/*.mustache, built into the binary (embedded.h)
// and rendered by kainjow mustache, which escapes every {{value}} for HTML; only the layout's
// {{{content}}} (a page already rendered) is inserted raw. A template named "_name" is a
// partial, written into every page that says {{>name}}.
//
// Thread-safety: immutable after Load; Render may be called from many threads (each call
// compiles its own copy: kainjow's renderer keeps state while it renders).
#pragma once

#include <kainjow/mustache.hpp>
#include <map>
#include <string>

#include "common/status.h"

namespace rectrack::web {

using Data = kainjow::mustache::data;

class Templates {
 public:
  // Every embedded template, each checked to parse. InvalidArgument naming the bad one.
  static Result<Templates> Load();
  // The page `name` (a file name without ".mustache") with `data`, inside the layout with
  // `layout` (title, navigation, who is signed in).
  std::string Page(const std::string& name, const Data& data, Data layout) const;
  // Just the template `name` with `data`.
  std::string Render(const std::string& name, const Data& data) const;

 private:
  std::map<std::string, std::string> sources_;
};

}  // namespace rectrack::web
