// Catch2's own XML report (`-r xml -o file`, v2 and v3 formats), read into what the reporter tests compare
// with bstest's records: each test case's identity, result, duration, skip message and failures.
//
// The reader handles the XML Catch2 writes (elements, attributes, text, the five named entities and
// numeric references, the prolog, comments); it is not a general XML parser.
#pragma once

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace bstest::testing::catch2_xml {

struct Node {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;  // the element's own text, trimmed
  std::vector<Node> children;

  std::string attr(const std::string& key) const {
    auto it = attrs.find(key);
    return it == attrs.end() ? std::string() : it->second;
  }
  const Node* child(const std::string& child_name) const {
    for (const auto& c : children) {
      if (c.name == child_name) return &c;
    }
    return nullptr;
  }
};

inline std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    std::size_t semi = s.find(';', i);
    if (semi == std::string::npos) throw std::runtime_error("xml: unterminated entity");
    static const std::map<std::string, char> named = {
        {"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    std::string e = s.substr(i + 1, semi - i - 1);
    if (named.count(e) != 0) {
      out += named.at(e);
    } else if (!e.empty() && e[0] == '#') {
      unsigned long cp = e.size() > 1 && (e[1] == 'x' || e[1] == 'X') ? std::strtoul(e.c_str() + 2, nullptr, 16)
                                                                      : std::strtoul(e.c_str() + 1, nullptr, 10);
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      throw std::runtime_error("xml: unknown entity &" + e + ";");
    }
    i = semi;
  }
  return out;
}

inline std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The document's root element.
inline Node parse(const std::string& xml) {
  std::vector<Node> stack;
  stack.emplace_back();  // a holder for the root
  std::size_t i = 0;
  while (i < xml.size()) {
    if (xml[i] != '<') {
      std::size_t next = xml.find('<', i);
      if (next == std::string::npos) next = xml.size();
      stack.back().text += unescape(xml.substr(i, next - i));
      i = next;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      i = xml.find("-->", i);
      if (i == std::string::npos) throw std::runtime_error("xml: unterminated comment");
      i += 3;
      continue;
    }
    std::size_t close = xml.find('>', i);
    if (close == std::string::npos) throw std::runtime_error("xml: unterminated tag");
    if (xml[i + 1] == '?') {
      i = close + 1;
      continue;
    }
    if (xml[i + 1] == '/') {  // end tag
      if (stack.size() < 2) throw std::runtime_error("xml: unbalanced end tag");
      Node done = std::move(stack.back());
      stack.pop_back();
      done.text = trim(done.text);
      stack.back().children.push_back(std::move(done));
      i = close + 1;
      continue;
    }
    // Start tag: name, then name="value" pairs (values may hold '>', so scan them properly).
    Node n;
    std::size_t p = i + 1;
    while (p < xml.size() && xml[p] != ' ' && xml[p] != '>' && xml[p] != '/' && xml[p] != '\n') n.name += xml[p++];
    bool self_closing = false;
    for (;;) {
      while (p < xml.size() && (xml[p] == ' ' || xml[p] == '\n' || xml[p] == '\t' || xml[p] == '\r')) ++p;
      if (p >= xml.size()) throw std::runtime_error("xml: unterminated start tag");
      if (xml[p] == '/') {
        self_closing = true;
        p = xml.find('>', p) + 1;
        break;
      }
      if (xml[p] == '>') {
        ++p;
        break;
      }
      std::size_t eq = xml.find('=', p);
      std::string key = trim(xml.substr(p, eq - p));
      char quote = xml[eq + 1];
      std::size_t end = xml.find(quote, eq + 2);
      n.attrs[key] = unescape(xml.substr(eq + 2, end - eq - 2));
      p = end + 1;
    }
    if (self_closing) {
      stack.back().children.push_back(std::move(n));
    } else {
      stack.push_back(std::move(n));
    }
    i = p;
  }
  if (stack.size() != 1 || stack[0].children.size() != 1) throw std::runtime_error("xml: not one root element");
  return std::move(stack[0].children[0]);
}

// ------------------------------------------------------------------------------------------------------
// What Catch2 reported.

struct Failure {
  std::string kind;  // bstest's names: assertion, explicit, exception, fatal_error
  std::string file;
  long line = -1;
  std::string macro;              // Expression type="..." (absent for FAIL, escaped exceptions, signals)
  std::string expression;         // <Original>, without Catch2's placeholder for "no expression"
  std::string expanded;           // <Expanded>, when it differs from the original
  std::string text;               // the message of an exception, FAIL or signal
  std::string section;            // the enclosing <Section> names, " / "-joined
  std::vector<std::string> info;  // the <Info> elements written just before it
};

struct TestCase {
  std::string name;
  std::vector<std::string> tags;  // without brackets
  std::string file;
  long line = 0;
  std::string result;  // passed, failed, skipped: as bstest names Catch2's verdict
  std::string skip;    // the first <Skip> message
  double duration_ms = -1;  // OverallResult durationInSeconds, with `-d yes` only
  std::vector<Failure> failures;
};

inline std::vector<std::string> split_tags(const std::string& tags) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while ((i = tags.find('[', i)) != std::string::npos) {
    std::size_t e = tags.find(']', i);
    out.push_back(tags.substr(i + 1, e - i - 1));
    i = e;
  }
  return out;
}

inline void collect(const Node& n, std::vector<std::string>& path, std::vector<std::string>& info, TestCase& tc) {
  auto section = [&path] {
    std::string s;
    for (const auto& p : path) s += (s.empty() ? "" : " / ") + p;
    return s;
  };
  auto failure = [&](const Node& at, const std::string& kind) {
    Failure f;
    f.kind = kind;
    f.file = at.attr("filename");
    f.line = std::atol(at.attr("line").c_str());
    f.section = section();
    f.info = info;
    info.clear();
    return f;
  };
  for (const auto& c : n.children) {
    if (c.name == "Section") {
      path.push_back(c.attr("name"));
      collect(c, path, info, tc);
      path.pop_back();
    } else if (c.name == "Info") {
      info.push_back(c.text);
    } else if (c.name == "Expression") {
      if (c.attr("success") == "true") {
        info.clear();
        continue;
      }
      Failure f = failure(c, "assertion");
      f.macro = c.attr("type");
      const Node* original = c.child("Original");
      const Node* expanded = c.child("Expanded");
      if (original != nullptr && original->text != "{Unknown expression after the reported line}") {
        f.expression = original->text;
        if (expanded != nullptr && expanded->text != original->text) f.expanded = expanded->text;
      }
      if (const Node* e = c.child("Exception")) {
        f.kind = "exception";
        f.text = e->text;
      } else if (const Node* s = c.child("FatalErrorCondition")) {
        f.kind = "fatal_error";
        f.text = s->text;
      }
      tc.failures.push_back(f);
    } else if (c.name == "Exception" || c.name == "Failure" || c.name == "FatalErrorCondition") {
      Failure f = failure(c, c.name == "Exception" ? "exception" : c.name == "Failure" ? "explicit" : "fatal_error");
      f.text = c.text;
      tc.failures.push_back(f);
    } else if (c.name == "Skip") {
      if (tc.skip.empty()) tc.skip = c.text;
      info.clear();
    } else if (c.name == "Warning") {
      info.clear();
    }
  }
}

// Every <TestCase> of a report, in order (v2 nests them in <Group>).
inline std::vector<TestCase> test_cases(const Node& root) {
  std::vector<TestCase> out;
  std::vector<const Node*> todo = {&root};
  while (!todo.empty()) {
    const Node* n = todo.front();
    todo.erase(todo.begin());
    for (const auto& c : n->children) {
      if (c.name == "Group") todo.push_back(&c);
      if (c.name != "TestCase") continue;
      TestCase tc;
      tc.name = c.attr("name");
      tc.tags = split_tags(c.attr("tags"));
      tc.file = c.attr("filename");
      tc.line = std::atol(c.attr("line").c_str());
      std::vector<std::string> path, info;
      collect(c, path, info, tc);
      const Node* overall = c.child("OverallResult");
      bool success = overall != nullptr && overall->attr("success") == "true";
      bool skips = overall != nullptr && std::atol(overall->attr("skips").c_str()) > 0;
      tc.result = !success ? "failed" : skips ? "skipped" : "passed";
      if (overall != nullptr && !overall->attr("durationInSeconds").empty()) {
        tc.duration_ms = std::atof(overall->attr("durationInSeconds").c_str()) * 1000.0;
      }
      out.push_back(tc);
    }
  }
  return out;
}

}  // namespace bstest::testing::catch2_xml
