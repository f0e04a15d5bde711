#include "coordinator/runs/run_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace tverr::coordinator {

absl::StatusOr<std::unique_ptr<RunStore>> RunStore::Open(std::shared_ptr<store::SqliteDb> db) {
  RETURN_IF_ERROR(db->Exec(R"sql(
    CREATE TABLE IF NOT EXISTS runs (
      run_id TEXT PRIMARY KEY, spec BLOB NOT NULL, artifact_sha256 TEXT NOT NULL,
      initial_sha256 TEXT NOT NULL, state TEXT NOT NULL, failure TEXT NOT NULL,
      committed_round INTEGER NOT NULL, global_sha256 TEXT NOT NULL,
      optimizer_sha256 TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS rounds (
      run_id TEXT NOT NULL, round INTEGER NOT NULL, contributors TEXT NOT NULL,
      samples INTEGER NOT NULL, mean_train_loss REAL NOT NULL, global_sha256 TEXT NOT NULL,
      evaluated INTEGER NOT NULL, pooled_accuracy REAL NOT NULL,
      evaluation_samples INTEGER NOT NULL, PRIMARY KEY (run_id, round));
    CREATE TABLE IF NOT EXISTS round_summaries (
      run_id TEXT NOT NULL, round INTEGER NOT NULL, summary BLOB NOT NULL,
      PRIMARY KEY (run_id, round));
  )sql"));
  return std::unique_ptr<RunStore>(new RunStore(std::move(db)));
}

absl::Status RunStore::Create(const StoredRun& run) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt, db_->Prepare(
      "INSERT OR IGNORE INTO runs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);"));
  RETURN_IF_ERROR(stmt.Bind(1, run.run_id));
  RETURN_IF_ERROR(stmt.Bind(2, run.spec.SerializeAsString()));
  RETURN_IF_ERROR(stmt.Bind(3, run.artifact_sha256));
  RETURN_IF_ERROR(stmt.Bind(4, run.initial_weights_sha256));
  RETURN_IF_ERROR(stmt.Bind(5, run.state));
  RETURN_IF_ERROR(stmt.Bind(6, run.failure));
  RETURN_IF_ERROR(stmt.Bind(7, static_cast<int64_t>(run.committed_round)));
  RETURN_IF_ERROR(stmt.Bind(8, run.global_sha256));
  RETURN_IF_ERROR(stmt.Bind(9, run.optimizer_sha256));
  return stmt.Run();
}

absl::Status RunStore::SetState(const std::string& run_id, const std::string& state,
                                const std::string& failure) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt,
                   db_->Prepare("UPDATE runs SET state = ?1, failure = ?2 WHERE run_id = ?3;"));
  RETURN_IF_ERROR(stmt.Bind(1, state));
  RETURN_IF_ERROR(stmt.Bind(2, failure));
  RETURN_IF_ERROR(stmt.Bind(3, run_id));
  RETURN_IF_ERROR(stmt.Run());
  if (db_->Changes() == 0) return absl::NotFoundError(absl::StrCat("no run ", run_id));
  return absl::OkStatus();
}

absl::Status RunStore::CommitRound(const std::string& run_id, const v1::RoundSummary& round,
                                   const std::string& optimizer_sha256) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(db_->Exec("BEGIN IMMEDIATE;"));
  auto rollback = [&](absl::Status s) {
    (void)db_->Exec("ROLLBACK;");
    return s;
  };
  {
    absl::StatusOr<store::Statement> advance = db_->Prepare(
        "UPDATE runs SET committed_round = ?1, global_sha256 = ?2, optimizer_sha256 = ?3 "
        "WHERE run_id = ?4 AND committed_round = ?5;");
    if (!advance.ok()) return rollback(advance.status());
    absl::Status s = advance->Bind(1, static_cast<int64_t>(round.round()));
    if (s.ok()) s = advance->Bind(2, round.global_sha256());
    if (s.ok()) s = advance->Bind(3, optimizer_sha256);
    if (s.ok()) s = advance->Bind(4, run_id);
    if (s.ok()) s = advance->Bind(5, static_cast<int64_t>(round.round() - 1));
    if (s.ok()) s = advance->Run();
    if (!s.ok()) return rollback(s);
    if (db_->Changes() != 1) {
      return rollback(absl::FailedPreconditionError(absl::StrCat(
          "round ", round.round(), " of run ", run_id, " does not follow its last committed round")));
    }
  }
  {
    absl::StatusOr<store::Statement> insert = db_->Prepare(
        "INSERT INTO rounds VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);");
    if (!insert.ok()) return rollback(insert.status());
    absl::Status s = insert->Bind(1, run_id);
    if (s.ok()) s = insert->Bind(2, static_cast<int64_t>(round.round()));
    if (s.ok()) s = insert->Bind(3, absl::StrJoin(round.contributors(), ","));
    if (s.ok()) s = insert->Bind(4, static_cast<int64_t>(round.samples()));
    if (s.ok()) s = insert->Bind(5, absl::StrCat(round.mean_train_loss()));
    if (s.ok()) s = insert->Bind(6, round.global_sha256());
    if (s.ok()) s = insert->Bind(7, static_cast<int64_t>(round.evaluated() ? 1 : 0));
    if (s.ok()) s = insert->Bind(8, absl::StrCat(round.pooled_accuracy()));
    if (s.ok()) s = insert->Bind(9, static_cast<int64_t>(round.evaluation_samples()));
    if (s.ok()) s = insert->Run();
    if (!s.ok()) return rollback(s);
  }
  {
    absl::StatusOr<store::Statement> insert =
        db_->Prepare("INSERT INTO round_summaries VALUES (?1, ?2, ?3);");
    if (!insert.ok()) return rollback(insert.status());
    absl::Status s = insert->Bind(1, run_id);
    if (s.ok()) s = insert->Bind(2, static_cast<int64_t>(round.round()));
    if (s.ok()) s = insert->BindBlob(3, round.SerializeAsString());
    if (s.ok()) s = insert->Run();
    if (!s.ok()) return rollback(s);
  }
  return db_->Exec("COMMIT;");
}

absl::StatusOr<std::vector<StoredRun>> RunStore::List() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt, db_->Prepare(
      "SELECT run_id, spec, artifact_sha256, initial_sha256, state, failure, committed_round, "
      "global_sha256, optimizer_sha256 FROM runs ORDER BY run_id;"));
  std::vector<StoredRun> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    StoredRun r;
    r.run_id = stmt.ColumnText(0);
    if (!r.spec.ParseFromString(stmt.ColumnText(1))) {
      return absl::DataLossError(absl::StrCat("stored spec of run ", r.run_id, " is damaged"));
    }
    r.artifact_sha256 = stmt.ColumnText(2);
    r.initial_weights_sha256 = stmt.ColumnText(3);
    r.state = stmt.ColumnText(4);
    r.failure = stmt.ColumnText(5);
    r.committed_round = static_cast<uint64_t>(stmt.ColumnInt(6));
    r.global_sha256 = stmt.ColumnText(7);
    r.optimizer_sha256 = stmt.ColumnText(8);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<v1::RoundSummary>> RunStore::Rounds(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(store::Statement stmt, db_->Prepare(
      "SELECT r.round, r.contributors, r.samples, r.mean_train_loss, r.global_sha256, "
      "r.evaluated, r.pooled_accuracy, r.evaluation_samples, s.summary FROM rounds r "
      "LEFT JOIN round_summaries s ON s.run_id = r.run_id AND s.round = r.round "
      "WHERE r.run_id = ?1 ORDER BY r.round;"));
  RETURN_IF_ERROR(stmt.Bind(1, run_id));
  std::vector<v1::RoundSummary> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const auto round = static_cast<uint64_t>(stmt.ColumnInt(0));
    v1::RoundSummary r;
    if (!stmt.ColumnIsNull(8)) {
      if (!r.ParseFromString(stmt.ColumnBlob(8)) || r.round() != round) {
        return absl::DataLossError(absl::StrCat("stored summary of round ", round, " of run ",
                                                run_id, " is damaged"));
      }
      out.push_back(std::move(r));
      continue;
    }
    // Committed before round summaries were kept: the columns.
    r.set_round(round);
    for (absl::string_view c : absl::StrSplit(stmt.ColumnText(1), ',', absl::SkipEmpty())) {
      r.add_contributors(std::string(c));
    }
    double loss = 0;
    double accuracy = 0;
    if (!absl::SimpleAtod(stmt.ColumnText(3), &loss) ||
        !absl::SimpleAtod(stmt.ColumnText(6), &accuracy)) {
      return absl::DataLossError(absl::StrCat("stored figures of round ", round, " of run ",
                                              run_id, " are damaged"));
    }
    r.set_samples(static_cast<uint64_t>(stmt.ColumnInt(2)));
    r.set_mean_train_loss(loss);
    r.set_global_sha256(stmt.ColumnText(4));
    r.set_evaluated(stmt.ColumnInt(5) != 0);
    r.set_pooled_accuracy(accuracy);
    r.set_evaluation_samples(static_cast<uint64_t>(stmt.ColumnInt(7)));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tverr::coordinator
