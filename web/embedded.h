// The web workspace's templates (web/templates/*.mustache, named "templates/<file>") and static
// assets (the stylesheet compiled from GOV.UK Frontend's Sass, its images and rectrack's own
// script, named "assets/<path>"), built into the binary by web/embed.cmake.
#pragma once

#include <cstddef>
#include <vector>

namespace rectrack::web {

struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  size_t size;
};

const std::vector<EmbeddedFile>& EmbeddedFiles();

}  // namespace rectrack::web
