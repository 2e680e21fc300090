// The fixture of the item index's and the item heads' tests: a database file of its own per
// test, engines opened on it as the command line opens them, and random worlds (back-dated,
// reopened, superseded) to compare answers with a whole replay in.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/importer.h"
#include "engine/render.h"
#include "storage/database.h"
#include "tests/test_support.h"

namespace rectrack {
namespace {

namespace fs = std::filesystem;

const std::string kSource = RECTRACK_SOURCE_DIR;
const std::string kWorkflow = kSource + "/workflows/recommendation.yaml";

Date D(const std::string& iso) { return *Date::Parse(iso); }

// A day between 2020-03-01 and 2025-12-31.
Date RandomDay(std::mt19937& rng) {
  std::uniform_int_distribution<int> days(0, 2131);
  return D("2020-03-01").AddDays(days(rng));
}

class ItemIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("item_index_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string db() const { return (dir_ / db_name_).string(); }

  Result<std::unique_ptr<Engine>> Open(std::vector<std::string> scope = {}) {
    Engine::Options options{db(), kWorkflow, &clock_, true, ""};
    options.scope = std::move(scope);
    options.index_batch = index_batch_;
    options.heads_batch = heads_batch_;
    ASSIGN_OR_RETURN(auto engine, Engine::Open(options));
    if (histories_out_ && options.scope.empty()) {
      RETURN_IF_ERROR(engine->KeepHistoriesOut(history_cache_bytes_, history_turn_));
    }
    return engine;
  }

  // An engine opened heads_only, as `rectrack list` and `report annex` open one.
  Result<std::unique_ptr<Engine>> OpenForLists() {
    Engine::Options options{db(), kWorkflow, &clock_, true, ""};
    options.heads_only = true;
    options.index_batch = index_batch_;
    options.heads_batch = heads_batch_;
    return Engine::Open(options);
  }

  // The bundled workflow with `bundled` (which must be in it) replaced by `changed`, written to
  // `name` in the test's directory; returns its path, or "" (and fails the test) when the
  // bundled workflow no longer holds `bundled`.
  std::string WorkflowWith(const std::string& bundled, const std::string& changed,
                           const std::string& name) {
    std::ifstream in(kWorkflow);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = text.find(bundled);
    EXPECT_NE(at, std::string::npos) << "the bundled workflow no longer holds: " << bundled;
    if (at == std::string::npos) return "";
    text.replace(at, bundled.size(), changed);
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Raw SQL on the database file, behind the engine's back.
  void Sql(const char* sql) {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
    ASSERT_TRUE(raw.ok()) << raw.status().message();
    ASSERT_TRUE((*raw)->Exec(sql).ok()) << sql;
  }
  int64_t Through() {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting);
    auto stmt = (*raw)->Prepare("SELECT through FROM derived WHERE name = 'item_events'");
    return stmt.ok() && *stmt->Step() ? stmt->ColumnInt(0) : -1;
  }

  // A world of `recommendations` recommendations under two bodies, some with actions, then
  // `events` random events (back-dated, reopened, superseded, extended, ...). Events the
  // workflow refuses are simply not written; returns how many were.
  // With `scoped_writes`, each event is recorded by an engine scoped to its item and what its
  // fields name, as `rectrack record` does.
  int MakeRandomWorld(std::mt19937& rng, int recommendations, int events,
                      bool scoped_writes = false, std::unique_ptr<Engine>* writer = nullptr) {
    auto engine = Open();
    EXPECT_TRUE(engine.ok()) << engine.status().message();
    std::string yaml = R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
  - {id: SFO, name: Serious Fraud Office}
units:
  - {id: sw, body: CPS, name: CPS South West}
inspections:
  - {id: i1, title: Disclosure, published: 2020-01-10}
  - {id: i2, title: Case progression, published: 2020-01-20}
  - {id: i3, title: Witness care, published: 2020-01-25}
  - {id: f1, title: Disclosure follow-up, published: 2020-02-01, kind: follow_up, follow_up_of: i1}
  - {id: f2, title: Progression follow-up, published: 2020-02-05, kind: follow_up, follow_up_of: i2}
recommendations:
)";
    for (int r = 0; r < recommendations; ++r) {
      const std::string owners = r % 5 == 0 ? "[CPS, SFO]" : (r % 2 ? "[SFO]" : "[CPS]");
      yaml += "  - {id: r" + std::to_string(r) + ", inspection: i" + std::to_string(1 + r % 3) +
              ", owners: " + owners + ", text: \"Improve case " + std::to_string(r) +
              ".\", milestones: [{label: m1, due: 2022-06-30}]}\n";
    }
    yaml += "actions:\n";
    std::vector<std::pair<std::string, std::string>> actions;  // id, body
    for (int r = 0; r < recommendations; r += 2) {
      const std::string id = "a" + std::to_string(r);
      yaml += "  - {id: " + id + ", rec: r" + std::to_string(r) + ", body: CPS" +
              (r % 4 == 0 ? ", unit: sw" : "") + ", title: Plan " + id +
              ", due: 2021-03-31, planned: 2020-02-15}\n";
      actions.emplace_back(id, "CPS");
    }
    auto commands =
        ParseImport(yaml, "world.yaml", (*engine)->workflow(), (*engine)->action_workflow());
    EXPECT_TRUE(commands.ok()) << commands.status().message();
    auto imported = (*engine)->Apply(*commands, "test");
    EXPECT_TRUE(imported.ok()) << imported.status().message();

    const char* rec_transitions[] = {"update",    "close",  "assess",   "assess", "reopen",
                                     "supersede", "extend", "withdraw", "close"};
    const char* action_transitions[] = {"start",  "update",     "close",  "drop",
                                        "reopen", "reschedule", "comment"};
    const char* outcomes[] = {"achieved", "partially_achieved", "not_achieved"};
    int written = 0;
    std::map<std::string, Date> extended;  // each recommendation's latest extension asked for
    for (int i = 0; i < events; ++i) {
      RecordEvent e;
      e.effective = RandomDay(rng);
      if (rng() % 3 == 0 && !actions.empty()) {
        const auto& [id, body] = actions[rng() % actions.size()];
        e.subject_id = id;
        e.transition = action_transitions[rng() % std::size(action_transitions)];
        e.role = e.transition == "comment" && rng() % 2 ? "inspectorate" : "body_lead";
        if (e.role == "body_lead") e.body = body;
        if (e.transition == "drop" || e.transition == "reschedule") e.fields["reason"] = {"why"};
        if (e.transition == "reschedule") e.fields["due"] = {RandomDay(rng).ToString()};
      } else {
        const int r = static_cast<int>(rng() % recommendations);
        e.subject_id = "r" + std::to_string(r);
        e.transition = rec_transitions[rng() % std::size(rec_transitions)];
        const bool body_voice = e.transition == "close" || (e.transition == "update" && rng() % 2);
        e.role = body_voice ? "body_lead" : "inspectorate";
        if (body_voice) e.body = r % 2 && r % 5 ? "SFO" : "CPS";
        if (e.transition == "close" && rng() % 2) e.fields["override"] = {"agreed"};
        if (e.transition == "assess") {
          e.fields["outcome"] = {outcomes[rng() % 3]};
          e.fields["in"] = {rng() % 2 ? "f1" : "f2"};
        }
        if (e.transition == "reopen" || e.transition == "withdraw" || e.transition == "extend") {
          e.fields["reason"] = {"as the follow-up found"};
        }
        if (e.transition == "extend") {
          // Later than the extensions before it, as an extension must be (one back-dated
          // behind another may still be refused, as any event the workflow refuses).
          Date& due = extended.try_emplace(e.subject_id, D("2022-06-30")).first->second;
          due = due.AddDays(1 + static_cast<int>(rng() % 200));
          e.fields["milestone"] = {"m1"};
          e.fields["due"] = {due.ToString()};
        }
        if (e.transition == "supersede") {
          e.fields["superseded_by"] = {"r" + std::to_string(rng() % recommendations)};
        }
      }
      // A note-only transition with nothing in it is refused (it would record nothing).
      if ((e.transition == "update" || e.transition == "comment") && e.fields.empty()) {
        e.note = "noted";
      }
      if (!scoped_writes) {
        if ((*engine)->Apply({e}, "test").ok()) ++written;
        continue;
      }
      std::vector<std::string> scope = {e.subject_id};
      for (const auto& [field, values] : e.fields) {
        scope.insert(scope.end(), values.begin(), values.end());
      }
      auto scoped = Open(scope);
      EXPECT_TRUE(scoped.ok()) << scoped.status().message();
      if ((*scoped)->Apply({e}, "test").ok()) ++written;
    }
    if (writer) *writer = std::move(*engine);
    return written;
  }

  // What `show` prints for `id` at `as_of`, as JSON, from `engine`; or the error.
  static std::string Shown(Engine& engine, const std::string& id, Date as_of) {
    const auto kind = engine.KindOf(id);
    if (!kind) return "none";
    if (*kind == SubjectKind::kAction) {
      auto action = engine.ShowAction(id, as_of);
      return action.ok() ? ActionAsJson(*action) : action.status().message();
    }
    auto view = engine.Show(id, as_of);
    if (!view.ok()) return view.status().message();
    ActionQuery of;
    of.as_of = as_of;
    of.recommendation = id;
    return ShowAsJson(*view, engine.ListActions(of).value());
  }

  // Every item, at each of `dates`, shown by a scoped engine as by the whole one.
  void ExpectScopedAnswersEqualReplay(const std::vector<Date>& dates, int* compared) {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<std::string> ids;
    for (int r = 0; r < 40; ++r) {
      for (const char* prefix : {"r", "a"}) ids.push_back(prefix + std::to_string(r));
    }
    for (const auto& id : ids) {
      auto scoped = Open({id});
      ASSERT_TRUE(scoped.ok()) << id << ": " << scoped.status().message();
      for (Date as_of : dates) {
        EXPECT_EQ(Shown(**scoped, id, as_of), Shown(**whole, id, as_of))
            << id << " as at " << as_of.ToString();
        ++*compared;
      }
    }
  }

  // What `list` gives for `q` (as JSON), read from the item heads by an engine opened for
  // lists as `rectrack list` opens one; `read_heads` is set to whether it read them (rather than
  // falling back to the whole log).
  std::string ListedFromHeads(const ListQuery& q, bool* read_heads = nullptr) {
    auto engine = OpenForLists();
    if (!engine.ok()) return engine.status().message();
    auto views = (*engine)->ListFromHeads(q);
    if (read_heads) *read_heads = (*engine)->reads_heads();
    return views.ok() ? ListAsJson(*views) : views.status().message();
  }

  // The list `q` asks for (as JSON), visited (Engine::VisitList) by an engine opened for lists,
  // as `serve` answers lists while it reads the log; at most `most` views (0: every one).
  std::string VisitedFromHeads(const ListQuery& q, size_t most = 0) {
    auto engine = OpenForLists();
    if (!engine.ok()) return engine.status().message();
    if (!(*engine)->reads_heads()) return "read the whole log";
    std::vector<RecommendationView> views;
    Status visited = (*engine)->VisitList(q, [&](const RecommendationView& v) {
      views.push_back(v);
      return most == 0 || views.size() < most;
    });
    if (!visited.ok()) return visited.message();
    return (*engine)->reads_heads() ? ListAsJson(views) : "read the whole log";
  }

  // Annex A for `body` at `as_of` (as JSON), read from the item heads as `rectrack report annex`
  // reads it; `read_heads` as for ListedFromHeads.
  std::string AnnexedFromHeads(const std::string& body, Date as_of, bool* read_heads = nullptr) {
    auto engine = OpenForLists();
    if (!engine.ok()) return engine.status().message();
    auto annex = (*engine)->AnnexFromHeads(body, as_of);
    if (read_heads) *read_heads = (*engine)->reads_heads();
    return annex.ok() ? AnnexAsJson(*annex) : annex.status().message();
  }

  fs::path dir_;
  std::string db_name_ = "rectrack.db";
  int64_t index_batch_ = 1;  // Engine::Options::index_batch of the engines Open makes
  int64_t heads_batch_ = 1;  // and their Options::heads_batch
  // Whether the whole engines Open makes keep histories out of memory (as `serve`), and in a
  // cache of how many bytes.
  bool histories_out_ = false;
  size_t history_cache_bytes_ = 1;
  size_t history_turn_ = std::numeric_limits<size_t>::max();  // all at once
  FixedClock clock_{"2026-01-15T10:00:00Z"};
};

}  // namespace
}  // namespace rectrack
