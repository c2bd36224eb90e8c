// One HTTP request at a time on a thread of its own, so that the shipper reads, batches and compresses the
// next batch while the current one is on the wire and the server works on it.
//
// Lives in the shipper process (`bstest ship`, `bstest run`, `bstest flush`) and, for the in-process
// fallback, in a test program after its last test: never while tests run. The thread starts with the first
// request and is joined by the destructor; a request ends within the time-out it was started with, so the
// join is bounded by it. Only the owner's thread calls the member functions.
#pragma once

#include "ship/http.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace bstest::detail {

class AsyncSender {
 public:
  explicit AsyncSender(std::unique_ptr<HttpClient> client);
  ~AsyncSender();
  AsyncSender(const AsyncSender&) = delete;
  AsyncSender& operator=(const AsyncSender&) = delete;

  // Sends `request` (at most `timeout_ms`). Only when idle().
  void start(HttpRequest request, int timeout_ms);
  // No request started and not yet taken.
  bool idle() const noexcept { return !started_; }
  // The request started last has its answer.
  bool done() const;
  // Waits at most `timeout_ms` (< 0: for as long as it takes) for done(); returns done().
  bool wait(int timeout_ms) const;
  // The answer and the request it answers (for a resend). Only when done().
  HttpResponse take(HttpRequest* request = nullptr);
  // Readable once done(): for poll() next to other descriptors. -1 when it could not be made.
  int ready_fd() const noexcept { return ready_[0]; }

 private:
  void loop();

  std::unique_ptr<HttpClient> client_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::thread thread_;
  bool started_ = false;  // owner's side: a request was started and not taken yet
  bool pending_ = false;  // a request waits for the thread
  bool finished_ = false; // its answer is in response_
  bool quit_ = false;
  HttpRequest request_;
  int timeout_ms_ = 0;
  HttpResponse response_;
  int ready_[2] = {-1, -1};  // the thread writes a byte into [1] when an answer is in
};

}  // namespace bstest::detail
