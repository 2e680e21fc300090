// Engine::KeepHistoriesOut: an engine that lets the items' histories go, as `serve` does, and
// reads them back from the item index when a question needs them, answers and takes writes
// exactly as an engine holding the whole log does: at random dates, for random worlds
// (back-dated, reopened, superseded), after another process's writes, and it says so when a
// history cannot be read back. Real SQLite files.
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "engine/access.h"
#include "tests/item_store_fixture.h"

namespace rectrack {
namespace {

class HistoriesOutTest : public ItemIndexTest {
 protected:
  // Everything `engine` says about the world as at `as_of`: each item shown with its
  // timeline, the list, each body's Annex A and progress.
  static std::string Answers(Engine& engine, Date as_of) {
    std::string out;
    for (int r = 0; r < 30; ++r) {
      for (const char* prefix : {"r", "a"}) {
        out += Shown(engine, prefix + std::to_string(r), as_of) + "\n";
      }
    }
    ListQuery all;
    all.as_of = as_of;
    out += ListAsJson(engine.List(all).value()) + "\n";
    for (const char* body : {"CPS", "SFO"}) {
      auto annex = engine.Annex(body, as_of);
      out += (annex.ok() ? AnnexAsJson(*annex) : annex.status().message()) + "\n";
      auto progress = engine.Progress(body, as_of);
      out += (progress.ok() ? ProgressAsJson(*progress) : progress.status().message()) + "\n";
    }
    return out;
  }

  // The feed of every event, newest first, as the inspectorate reads it.
  static std::string Fed(Engine& engine) {
    std::string out;
    for (const FeedEntry& e : engine.Feed({"", "inspectorate", ""}, "", 0, 100000).value()) {
      out += std::to_string(e.event.seq) + " " + e.recommendation + " " + e.action + " " +
             e.event.transition + " " + e.event.from_state + ">" + e.event.to_state + " " +
             e.event.effective.ToString() + " " + e.event.note + "\n";
    }
    return out;
  }

  // The hash of the log's last event, which covers every event before it.
  std::string HeadHash() {
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    EXPECT_TRUE(verified.ok()) << verified.status().message();
    return verified.ok() ? verified->head_hash : "";
  }
};

TEST_F(HistoriesOutTest, WritesAndAnswersWithHistoriesOutEqualAWholeEnginesAtRandomDates) {
  // Index and heads with every event (histories let go after each write), or in batches (the
  // items changed since are held until the index and the heads cover them). A cache of one
  // history (nearly every question reads back), or of all of them (the events let go join
  // those cached).
  // With a turn, the histories held at the start are let go a few items at a time, as writes
  // come (as `serve` lets them go, in turns between requests).
  struct Run {
    unsigned seed;
    int64_t index_batch, heads_batch;
    size_t cache_bytes;
    size_t turn = std::numeric_limits<size_t>::max();
  };
  int64_t read_back = 0;
  for (const Run& run : {Run{81, 1, 1, 1}, Run{82, 3, 7, 1}, Run{83, 1, 20, 1},
                         Run{86, 2, 5, 64 << 20}, Run{87, 1, 3, 1, 2}, Run{88, 4, 4, 1, 5}}) {
    SCOPED_TRACE("seed " + std::to_string(run.seed));
    index_batch_ = run.index_batch;
    heads_batch_ = run.heads_batch;
    history_cache_bytes_ = run.cache_bytes;
    history_turn_ = run.turn;
    // The same random writes, recorded once by whole engines and once by engines that keep
    // histories out (back-dated ones read the history back to replay it): the same events are
    // taken and refused, so the two logs are the same, event for event.
    db_name_ = "whole-" + std::to_string(run.seed) + ".db";
    std::mt19937 whole_rng(run.seed);
    const int whole_written = MakeRandomWorld(whole_rng, 30, 400);
    const std::string whole_db = db();
    const std::string whole_hash = HeadHash();
    db_name_ = "out-" + std::to_string(run.seed) + ".db";
    histories_out_ = true;
    std::mt19937 out_rng(run.seed);
    std::unique_ptr<Engine> writer;
    EXPECT_EQ(MakeRandomWorld(out_rng, 30, 400, false, &writer), whole_written);
    EXPECT_GT(whole_written, 80);
    EXPECT_EQ(HeadHash(), whole_hash);

    // Answers at random dates: before anything, among the events, today.
    auto out = Open();
    ASSERT_TRUE(out.ok()) << out.status().message();
    histories_out_ = false;
    db_name_ = "whole-" + std::to_string(run.seed) + ".db";
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<Date> dates = {D("2026-01-15"), D("2020-01-31"), D("2021-06-30")};
    for (int i = 0; i < 3; ++i) dates.push_back(RandomDay(out_rng));
    for (Date as_of : dates) {
      const std::string expected = Answers(**whole, as_of);
      EXPECT_EQ(Answers(**out, as_of), expected) << "as at " << as_of.ToString();
      // The engine that wrote holds the events its items took since their histories were let
      // go, after those it reads back.
      EXPECT_EQ(Answers(*writer, as_of), expected) << "the writer, as at " << as_of.ToString();
    }
    EXPECT_EQ(Fed(**out), Fed(**whole));
    EXPECT_EQ(Fed(*writer), Fed(**whole));
    read_back += (*out)->histories_read_back() + writer->histories_read_back();
  }
  // The answers above came from histories read back, not held.
  EXPECT_GT(read_back, 500);
}

TEST_F(HistoriesOutTest, AnnexAReadsTheHeadsRowsRatherThanTheHistories) {
  // The heads written with every event, so that each is its item's head: Annex A as at any
  // date is made from them (their turns), as a whole engine makes it from the histories,
  // without reading one back. (Rows behind the ledger are covered by the random-dates test.)
  index_batch_ = 1;
  heads_batch_ = 1;
  int rows = 0;
  for (unsigned seed : {91u, 92u, 93u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    db_name_ = "annex-" + std::to_string(seed) + ".db";
    std::mt19937 rng(seed);
    EXPECT_GT(MakeRandomWorld(rng, 30, 300), 80);
    histories_out_ = true;
    auto out = Open();
    ASSERT_TRUE(out.ok()) << out.status().message();
    histories_out_ = false;
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    const int64_t read_back = (*out)->histories_read_back();
    for (Date as_of : {D("2026-01-15"), D("2021-06-30"), RandomDay(rng), RandomDay(rng)}) {
      for (const char* body : {"CPS", "SFO"}) {
        auto annex = (*out)->Annex(body, as_of);
        ASSERT_TRUE(annex.ok()) << annex.status().message();
        EXPECT_EQ(AnnexAsJson(*annex), AnnexAsJson((*whole)->Annex(body, as_of).value()))
            << body << " as at " << as_of.ToString();
        rows += static_cast<int>(annex->open.size() + annex->closed.size());
      }
    }
    EXPECT_EQ((*out)->histories_read_back(), read_back) << "histories were read back";
  }
  EXPECT_GT(rows, 150);
}

TEST_F(HistoriesOutTest, HistoriesLetGoInTurnsAnswerAsAWholeEngineAfterEveryTurn) {
  // The same world in two files: one engine holds every history, one lets them go.
  for (const char* name : {"whole.db", "out.db"}) {
    db_name_ = name;
    std::mt19937 rng(89);
    MakeRandomWorld(rng, 30, 300);
  }
  db_name_ = "whole.db";
  auto whole = Open();
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  db_name_ = "out.db";
  auto out = Open();
  ASSERT_TRUE(out.ok()) << out.status().message();
  auto before_keeping = (*out)->LetHistoriesGo();
  ASSERT_FALSE(before_keeping.ok()) << "turns with every history held";
  EXPECT_EQ(before_keeping.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ((*out)->histories_left_to_look_at(), 0u);
  // 30 recommendations, 5 at a time; between turns, the same writes to both
  // engines (one to an item already looked at, one to an item not yet, one back-dated).
  constexpr size_t kTurn = 5;
  ASSERT_TRUE((*out)->KeepHistoriesOut(1, kTurn).ok());
  size_t left = (*out)->histories_left_to_look_at();
  ASSERT_GT(left, 3 * kTurn) << "a world of more than three turns";
  const std::vector<Date> dates = {D("2026-01-15"), D("2020-06-30"), D("2022-03-31")};
  int turns = 1, written = 0, back_dated = 0;
  for (bool done = false; !done; ++turns) {
    ASSERT_LT(turns, 100) << "the turns never end";
    for (int i = 0; i < 3; ++i) {
      RecordEvent note;
      note.subject_id = "r" + std::to_string((turns * 7 + i * 11) % 30);
      note.transition = "update";
      note.role = "inspectorate";
      note.note = "turn " + std::to_string(turns);
      note.effective = i == 2 ? D("2020-03-02") : D("2026-01-15");
      const bool taken = (*whole)->Apply({note}, "t").ok();
      EXPECT_EQ((*out)->Apply({note}, "t").ok(), taken) << note.subject_id;
      written += taken;
      back_dated += taken && i == 2;
    }
    for (Date as_of : dates) {
      ASSERT_EQ(Answers(**out, as_of), Answers(**whole, as_of))
          << "after turn " << turns << ", as at " << as_of.ToString();
    }
    auto turned = (*out)->LetHistoriesGo();
    ASSERT_TRUE(turned.ok()) << turned.status().message();
    done = *turned;
    const size_t now_left = (*out)->histories_left_to_look_at();
    EXPECT_LT(now_left, left) << "turn " << turns << " looked at nothing";
    left = now_left;
  }
  EXPECT_EQ(left, 0u);
  EXPECT_GE(turns - 1, 3) << "turns after the first";
  EXPECT_GT(written, 3);
  EXPECT_GT(back_dated, 0);
  // Done: another turn does nothing, and past questions read histories back.
  EXPECT_TRUE((*out)->LetHistoriesGo().value());
  const int64_t read_back = (*out)->histories_read_back();
  for (Date as_of : dates) EXPECT_EQ(Answers(**out, as_of), Answers(**whole, as_of));
  EXPECT_EQ(Fed(**out), Fed(**whole));
  EXPECT_GT((*out)->histories_read_back(), read_back);
}

// An evidence file whose event's history cannot be read back is not passed off as unused (a
// download's 404, a check `verify` skips); and it is said only to those who may see the item.
TEST_F(HistoriesOutTest, AnEvidenceFileWhoseHistoryCannotBeReadBackIsNotPassedOffAsUnused) {
  std::mt19937 rng(90);
  MakeRandomWorld(rng, 8, 0);
  std::string closed, owner;
  const EvidenceFile file("minutes.txt", "the board's minutes");
  {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    // Owned by one body (r0 and r5 by both).
    for (int r = 1; r < 8 && closed.empty(); ++r) {
      if (r % 5 == 0) continue;
      const std::string body = r % 2 ? "SFO" : "CPS";
      RecordEvent close{"r" + std::to_string(r), "close", D("2024-01-01"), "body_lead", body};
      close.fields["override"] = {"agreed"};
      close.files.push_back(file);
      if ((*whole)->Apply({close}, "test").ok()) closed = close.subject_id, owner = body;
    }
  }
  ASSERT_FALSE(closed.empty()) << "no recommendation took a close with evidence";
  const std::string other = owner == "CPS" ? "SFO" : "CPS";
  histories_out_ = true;
  auto out = Open();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Principal inspectorate{"", "inspectorate", ""};
  const Principal other_lead{"", "body_lead", other};
  // (Nothing asked before the damage: the history read back would be in the cache.)
  ASSERT_TRUE(DamageHistoryOf(db(), closed).ok());
  const auto names_it = [&](const Status& s) {
    return s.code() == Code::kCorruption &&
           s.message().find("'" + closed + "'") != std::string::npos;
  };
  auto uses = (*out)->EvidenceUses(file.sha256);
  ASSERT_FALSE(uses.ok()) << "the file's one use was left out";
  EXPECT_TRUE(names_it(uses.status())) << uses.status().message();
  auto every = (*out)->EvidenceUses("");
  ASSERT_FALSE(every.ok());
  EXPECT_TRUE(names_it(every.status())) << every.status().message();
  auto download = EvidenceVisible(**out, inspectorate, file.sha256);
  ASSERT_FALSE(download.ok());
  EXPECT_TRUE(names_it(download.status())) << download.status().message();
  // Another body's lead, who may not see the recommendation, learns nothing of it.
  auto theirs = EvidenceVisible(**out, other_lead, file.sha256);
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.status().code(), Code::kNotFound) << theirs.status().message();
  EXPECT_EQ(theirs.status().message().find(closed), std::string::npos);

  // `rectrack rebuild` puts the rows back.
  histories_out_ = false;
  ASSERT_TRUE(Open().value()->Rebuild().ok());
  auto again = EvidenceVisible(**out, inspectorate, file.sha256);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->content, file.content);
  EXPECT_EQ((*out)->EvidenceUses(file.sha256).value().size(), 1u);
  EXPECT_EQ(EvidenceVisible(**out, other_lead, file.sha256).status().code(), Code::kNotFound);
}

TEST_F(HistoriesOutTest, AnotherProcesssBackDatedWritesAreTakenInOverHistoriesLetGo) {
  std::mt19937 rng(84);
  MakeRandomWorld(rng, 30, 200);
  histories_out_ = true;
  auto out = Open();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const int64_t before = (*out)->histories_read_back();
  // Another process (the command line) records on items whose histories `out` let go: a
  // progress note back-dated to before everything else, and a note today.
  // (A note where the workflow takes one: not after a supersede or a withdrawal.)
  histories_out_ = false;
  int taken = 0;
  {
    auto cli = Open();
    ASSERT_TRUE(cli.ok());
    for (int r = 0; r < 30; ++r) {
      RecordEvent note;
      note.subject_id = "r" + std::to_string(r);
      note.transition = "update";
      note.role = "inspectorate";
      note.note = "noted by another process";
      note.effective = r % 2 ? D("2020-03-02") : D("2026-01-15");
      taken += (*cli)->Apply({note}, "cli").ok();
    }
  }
  EXPECT_GT(taken, 10);
  ASSERT_TRUE((*out)->Refresh().ok());
  auto whole = Open();
  ASSERT_TRUE(whole.ok());
  for (Date as_of : {D("2026-01-15"), D("2020-03-02"), D("2023-01-01")}) {
    EXPECT_EQ(Answers(**out, as_of), Answers(**whole, as_of)) << "as at " << as_of.ToString();
  }
  EXPECT_EQ(Fed(**out), Fed(**whole));
  EXPECT_GT((*out)->histories_read_back(), before);
}

TEST_F(HistoriesOutTest, AHistoryThatCannotBeReadBackIsNamedNotMadeUp) {
  std::mt19937 rng(85);
  MakeRandomWorld(rng, 30, 300);
  histories_out_ = true;
  auto out = Open();
  ASSERT_TRUE(out.ok()) << out.status().message();
  histories_out_ = false;
  auto whole = Open();
  ASSERT_TRUE(whole.ok());
  // The recommendation with the longest history, whose timeline must be read back.
  std::string longest;
  size_t events = 0;
  for (int r = 0; r < 30; ++r) {
    auto view = (*whole)->Show("r" + std::to_string(r), std::nullopt);
    ASSERT_TRUE(view.ok());
    if (view->timeline.size() > events) {
      events = view->timeline.size();
      longest = view->id;
    }
  }
  ASSERT_GT(events, 2u);
  // Its rows taken out of the item index behind the engine's back (the event naming it kept).
  ASSERT_TRUE(DamageHistoryOf(db(), longest).ok());
  auto shown = (*out)->Show(longest, std::nullopt);
  ASSERT_FALSE(shown.ok());
  EXPECT_EQ(shown.status().code(), Code::kCorruption);
  EXPECT_NE(shown.status().message().find("the history of '" + longest + "' read back"),
            std::string::npos)
      << shown.status().message();
  EXPECT_NE(shown.status().message().find("`rectrack rebuild`"), std::string::npos);
  // A list as at today reads heads only, and still answers.
  EXPECT_FALSE((*out)->List({}).value().empty());
  // What needs that history says so, rather than leave the recommendation out: a list and an
  // annex as at a day before its last change, the feed of its events.
  auto before = (*whole)->Show(longest, std::nullopt);
  ASSERT_TRUE(before.ok());
  const Date issued = before->issued;
  ASSERT_LT(issued, before->timeline.back().effective) << "a change after its issue";
  const auto names_it = [&](const Status& s) {
    return s.code() == Code::kCorruption &&
           s.message().find("'" + longest + "'") != std::string::npos;
  };
  ListQuery then;
  then.as_of = issued;
  auto listed = (*out)->List(then);
  ASSERT_FALSE(listed.ok()) << "a list as at " << issued.ToString() << " left it out";
  EXPECT_TRUE(names_it(listed.status())) << listed.status().message();
  // Annex A reads the turns it needs from the item's heads' row, which is its head as the
  // ledger has it: the same annex as a whole engine's, without the history. Without that row
  // too, it needs the history, and says so.
  const std::string owner = before->def.owners.front();
  auto annex = (*out)->Annex(owner, issued);
  ASSERT_TRUE(annex.ok()) << annex.status().message();
  EXPECT_EQ(AnnexAsJson(*annex), AnnexAsJson((*whole)->Annex(owner, issued).value()));
  Sql(("DELETE FROM item_heads WHERE kind = 3 AND item = '" + longest + "'").c_str());
  annex = (*out)->Annex(owner, issued);
  ASSERT_FALSE(annex.ok());
  EXPECT_TRUE(names_it(annex.status())) << annex.status().message();
  auto fed = (*out)->Feed({"", "inspectorate", ""}, "", 0, 100000);
  ASSERT_FALSE(fed.ok()) << "a feed skipped its events";
  EXPECT_TRUE(names_it(fed.status())) << fed.status().message();
  // `rectrack rebuild` puts the rows back, and the history reads back as the log has it.
  ASSERT_TRUE((*whole)->Rebuild().ok());
  auto again = (*out)->Show(longest, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->timeline.size(), events);
}

}  // namespace
}  // namespace rectrack
