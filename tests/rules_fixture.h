// The fixture of the rules' tests (rules_test, alerts_for_test): the shipped workflows and
// rules loaded as `serve` loads them, and dates written as ISO.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/date.h"
#include "engine/rules.h"
#include "engine/workflow.h"

namespace rectrack {

using Names = std::vector<std::string>;

inline const std::string kSourceDir = RECTRACK_SOURCE_DIR;

inline Date D(const char* iso) { return *Date::Parse(iso); }

inline Workflow ShippedWorkflow() {
  auto wf = Workflow::LoadFile(kSourceDir + "/workflows/recommendation.yaml");
  EXPECT_TRUE(wf.ok()) << wf.status().message();
  return std::move(wf).value();
}

inline Workflow ShippedActionWorkflow() {
  auto wf = Workflow::LoadFile(kSourceDir + "/workflows/action.yaml");
  EXPECT_TRUE(wf.ok()) << wf.status().message();
  return std::move(wf).value();
}

class RulesTest : public testing::Test {
 protected:
  void SetUp() override {
    auto rules = Rules::LoadDir(kSourceDir + "/rules", wf_, &action_wf_);
    ASSERT_TRUE(rules.ok()) << rules.status().message();
    rules_ = std::move(rules).value();
    ASSERT_NE(rules_.calendar(), nullptr);
  }
  const Calendar& cal() const { return *rules_.calendar(); }
  Date Shift(const char* day, const char* offset, int sign = 1) const {
    auto moved = rules_.Shift(D(day), *ParseOffset(offset), sign);
    EXPECT_TRUE(moved.ok()) << moved.status().message();
    return moved.ok() ? *moved : Date();
  }

  Workflow wf_ = ShippedWorkflow();
  Workflow action_wf_ = ShippedActionWorkflow();
  Rules rules_;
};

}  // namespace rectrack
