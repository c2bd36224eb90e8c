#include "ship/async_sender.hpp"

#include "base/quiet_thread.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>

namespace bstest::detail {

AsyncSender::AsyncSender(std::unique_ptr<HttpClient> client) : client_(std::move(client)) {
  if (::pipe2(ready_, O_CLOEXEC | O_NONBLOCK) != 0) ready_[0] = ready_[1] = -1;
}

AsyncSender::~AsyncSender() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (ready_[0] >= 0) ::close(ready_[0]);
  if (ready_[1] >= 0) ::close(ready_[1]);
}

void AsyncSender::start(HttpRequest request, int timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    request_ = std::move(request);
    timeout_ms_ = timeout_ms;
    pending_ = true;
    finished_ = false;
  }
  started_ = true;
  if (!thread_.joinable()) thread_ = quiet_thread("bstest-send", &AsyncSender::loop, this);
  cv_.notify_all();
}

bool AsyncSender::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

bool AsyncSender::wait(int timeout_ms) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (timeout_ms < 0) {
    cv_.wait(lock, [&] { return finished_; });
    return true;
  }
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return finished_; });
}

HttpResponse AsyncSender::take(HttpRequest* request) {
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
  finished_ = false;
  if (ready_[0] >= 0) {
    char buf[16];
    while (::read(ready_[0], buf, sizeof buf) > 0) {
    }
  }
  if (request != nullptr) *request = std::move(request_);
  return std::move(response_);
}

void AsyncSender::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return pending_ || quit_; });
    if (quit_) return;  // a request already on the wire is not cut short; one not started yet is not sent
    pending_ = false;
    HttpRequest request = std::move(request_);
    int timeout_ms = timeout_ms_;
    lock.unlock();
    HttpResponse response = client_->send(request, timeout_ms);
    lock.lock();
    request_ = std::move(request);
    response_ = std::move(response);
    finished_ = true;
    if (ready_[1] >= 0) {
      char one = 1;
      ssize_t rc = ::write(ready_[1], &one, 1);
      (void)rc;  // the pipe is only a wake-up: a full one already wakes its reader
    }
    cv_.notify_all();
  }
}

}  // namespace bstest::detail
