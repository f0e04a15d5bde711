// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil 20220623 has no status
// macros, so we define the two we use, once, here.
#ifndef TVERR_COMMON_STATUS_STATUS_MACROS_H_
#define TVERR_COMMON_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TVERR_STATUS_CONCAT_INNER_(a, b) a##b
#define TVERR_STATUS_CONCAT_(a, b) TVERR_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the caller if not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status tverr_status_ = (expr);             \
    if (!tverr_status_.ok()) return tverr_status_;     \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>);
// returns its status from the caller if not OK, else moves the value to lhs.
// `lhs` may be a declaration such as `auto x` or `std::string y`.
#define ASSIGN_OR_RETURN(lhs, expr) \
  TVERR_ASSIGN_OR_RETURN_IMPL_(TVERR_STATUS_CONCAT_(tverr_statusor_, __LINE__), lhs, expr)

#define TVERR_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#endif  // TVERR_COMMON_STATUS_STATUS_MACROS_H_
