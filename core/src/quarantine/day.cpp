// Calendar days in UTC, for the quarantine file's end dates.
#include "quarantine/quarantine.hpp"

#include <cstdio>
#include <ctime>

namespace bstest {

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;

Day floor_days(std::int64_t seconds) noexcept {
  Day d = seconds / kSecondsPerDay;
  return seconds % kSecondsPerDay < 0 ? d - 1 : d;
}

int days_in_month(int year, int month) noexcept {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

bool digits(std::string_view text, std::size_t from, std::size_t n, int& out) noexcept {
  int v = 0;
  for (std::size_t i = from; i < from + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

Day today_utc() noexcept { return floor_days(static_cast<std::int64_t>(std::time(nullptr))); }

bool parse_day(std::string_view text, Day& day) noexcept {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  if (!digits(text, 0, 4, y) || !digits(text, 5, 2, m) || !digits(text, 8, 2, d)) return false;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return false;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  day = floor_days(static_cast<std::int64_t>(timegm(&tm)));
  return true;
}

std::string format_day(Day day) {
  std::time_t t = static_cast<std::time_t>(day * kSecondsPerDay);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return "0000-00-00";  // beyond what gmtime can say: never a date of ours
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

}  // namespace bstest
