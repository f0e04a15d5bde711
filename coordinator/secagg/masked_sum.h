// The running sum, modulo 2^32, of the masked inputs of a secure round as
// their bytes stream in (little-endian uint32 words, pieces of any size, a
// word may be split between pieces). Each input is added as it arrives, so
// memory is one model's worth of words however many nodes report; an input
// abandoned after part of it was added leaves the sum dirty until Reset(),
// after which every input committed so far must be added again (the
// caller's spool has them) before the sum is complete. Internal to
// SecAggServer; not thread-safe. Inputs may outlive a Reset() or the
// MaskedSum: they are then inert (FAILED_PRECONDITION).
#ifndef TVERR_COORDINATOR_SECAGG_MASKED_SUM_H_
#define TVERR_COORDINATOR_SECAGG_MASKED_SUM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/secagg/secagg_server.h"

namespace tverr::coordinator::secagg_internal {

class MaskedSum {
 public:
  MaskedSum();
  ~MaskedSum();  // Makes open inputs inert.
  MaskedSum(const MaskedSum&) = delete;
  MaskedSum& operator=(const MaskedSum&) = delete;

  // Starts accepting inputs of `words` words into a zeroed sum.
  void Open(uint64_t words);
  // Stops accepting; open inputs become inert. The sum stays.
  void Close();

  // A new input of node `index` (named `node` in messages). The caller has
  // checked that the node has no input open or in the sum.
  std::unique_ptr<SecAggServer::Input> Begin(uint32_t index, const std::string& node);
  bool HasInput(uint32_t index) const;  // open, or committed since the last Reset

  // An abandoned input left words in the sum.
  bool dirty() const;
  size_t open_inputs() const;
  // Inputs committed before a Reset and not yet added again.
  size_t missing_inputs() const;
  // Indices whose inputs count for the round, in commit order: those in
  // the sum, then those to be added again after a Reset.
  std::vector<uint32_t> counted() const;
  // Indices whose inputs are in the sum.
  const std::vector<uint32_t>& committed() const;
  // Zeroes the sum; open inputs become inert; the committed inputs are to
  // be added again (Begin accepts them).
  void Reset();

  // The sum, for unmasking once closed.
  std::vector<uint32_t>& words();

 private:
  struct Shared;
  class InputImpl;
  std::shared_ptr<Shared> shared_;
};

}  // namespace tverr::coordinator::secagg_internal

#endif  // TVERR_COORDINATOR_SECAGG_MASKED_SUM_H_
