// Shared by the fuzz targets: the repository's bundled workflows, loaded once.
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>

#include "engine/workflow.h"

namespace rectrack::fuzz {

inline std::string Source() { return RECTRACK_SOURCE_DIR; }

inline const Workflow& LoadOrDie(const std::string& file) {
  static_assert(sizeof(Workflow) > 0);
  auto loaded = Workflow::LoadFile(Source() + "/workflows/" + file);
  if (!loaded.ok()) {
    std::cerr << "fuzz: " << loaded.status().message() << "\n";
    std::abort();
  }
  return *new Workflow(std::move(loaded).value());
}

inline const Workflow& BundledWorkflow() {
  static const Workflow& w = LoadOrDie("recommendation.yaml");
  return w;
}
inline const Workflow& BundledActionWorkflow() {
  static const Workflow& w = LoadOrDie("action.yaml");
  return w;
}

}  // namespace rectrack::fuzz
