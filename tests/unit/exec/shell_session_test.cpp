#include "exec/shell_session.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "exec/interpreter.hpp"

namespace tejun::exec {
namespace {

// A front end in a test: collects output, answers input, can interrupt after N polls.
class RecordingHost final : public StepHost {
 public:
  std::string out;
  std::string err;
  std::vector<std::string> answers;
  Clock::time_point interrupt_at = Clock::time_point::max();

  void write_stream(StreamName name, std::string_view text) override {
    (name == StreamName::out ? out : err).append(text);
  }
  void display(const MimeBundle& bundle, bool /*is_result*/) override { out.append(bundle.at(0).second); }
  void clear_output() override {}
  base::Result<std::string> ask(std::string_view /*prompt*/, bool /*password*/, int /*gives_up*/,
                                Clock::time_point /*until*/) override {
    if (answers.empty()) {
      return base::make_error(base::ErrorCode::invalid_argument, "no answer");
    }
    auto answer = answers.front();
    answers.erase(answers.begin());
    return answer;
  }
  WaitStatus wait(std::span<pollfd> fds, Clock::time_point until) override {
    const auto timeout = static_cast<int>(time_left(std::min(until, interrupt_at)).count());
    if (::poll(fds.data(), fds.size(), timeout) > 0) {
      return WaitStatus::ready;
    }
    if (Clock::now() >= interrupt_at) {
      interrupt_at = Clock::time_point::max();
      return WaitStatus::interrupted;
    }
    return WaitStatus::timed_out;
  }
};

TEST(ShellSession, KeepsStateBetweenSteps) {
  const Secrets secrets;
  ShellSession session({}, secrets);
  RecordingHost host;
  ASSERT_EQ(session.run("X=41; cd /; f() { echo $((X + 1)); }", host, {}).status, 0);
  const auto result = session.run("f; pwd", host, {});
  EXPECT_EQ(result.end, ShellEnd::exited);
  EXPECT_EQ(host.out, "42\n/\n");
}

TEST(ShellSession, ReportsTheExitStatusAndStderrTail) {
  const Secrets secrets;
  ShellSession session({}, secrets);
  RecordingHost host;
  const auto result = session.run("echo one >&2; echo two >&2; (exit 3)", host, {});
  EXPECT_EQ(result.end, ShellEnd::exited);
  EXPECT_EQ(result.status, 3);
  EXPECT_EQ(result.stderr_tail, "one\ntwo");
}

TEST(ShellSession, InterruptStopsTheStepAndKeepsTheSession) {
  const Secrets secrets;
  ShellSession session({}, secrets);
  RecordingHost host;
  ASSERT_EQ(session.run("KEEP=yes", host, {}).status, 0);
  for (const char* step :
       {"sleep 30; echo after", "while :; do :; done; echo after", "for i in 1 2 3; do sleep 30; done; echo after"}) {
    host.interrupt_at = Clock::now() + std::chrono::milliseconds(200);
    const auto start = Clock::now();
    const auto result = session.run(step, host, {});
    EXPECT_EQ(result.end, ShellEnd::interrupted) << step;
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5)) << step;
  }
  host.out.clear();
  EXPECT_EQ(session.run("echo $KEEP", host, {}).status, 0);
  EXPECT_EQ(host.out, "yes\n");
}

TEST(ShellSession, AnswersReadsFromTheFrontEnd) {
  const Secrets secrets;
  ShellSession session({}, secrets);
  RecordingHost host;
  host.answers = {"Alice"};
  StepLimits limits;
  limits.allow_stdin = true;
  const auto result = session.run("read -r NAME; echo \"hi $NAME\"", host, limits);
  EXPECT_EQ(result.end, ShellEnd::exited);
  EXPECT_EQ(host.out, "hi Alice\n");
  const auto refused = session.run("read -r NAME", host, {});
  EXPECT_EQ(refused.end, ShellEnd::input_refused);
}

TEST(ShellSession, StopsAtTheDeadline) {
  const Secrets secrets;
  ShellSession session({}, secrets);
  RecordingHost host;
  StepLimits limits;
  limits.deadline = Clock::now() + std::chrono::milliseconds(200);
  EXPECT_EQ(session.run("sleep 30", host, limits).end, ShellEnd::timed_out);
}

TEST(ShellSession, StartsANewSessionAfterExit) {
  const Secrets secrets;
  ShellSession session({}, secrets);
  RecordingHost host;
  ASSERT_EQ(session.run("X=1", host, {}).status, 0);
  const auto ended = session.run("exit 7", host, {});
  EXPECT_EQ(ended.end, ShellEnd::session_ended);
  EXPECT_EQ(ended.status, 7);
  EXPECT_EQ(session.run("echo \"${X-gone}\"", host, {}).status, 0);
  EXPECT_EQ(host.out, "gone\n");
}

TEST(Interpreter, CompletesMagicsVariablesAndInspectsMagics) {
  Interpreter interpreter({});
  const auto magics = interpreter.complete("%ti", 3);
  EXPECT_EQ(magics.matches, std::vector<std::string>{"%timeout"});
  const auto variables = interpreter.complete("echo $HOM", 9);
  EXPECT_EQ(variables.cursor_start, 6U);
  EXPECT_NE(std::find(variables.matches.begin(), variables.matches.end(), "HOME"), variables.matches.end());
  ASSERT_TRUE(interpreter.inspect("%env", 2));
  EXPECT_NE(interpreter.inspect("%env", 2)->find("%env [NAME"), std::string::npos);
  EXPECT_FALSE(interpreter.inspect("echo", 2));
}

}  // namespace
}  // namespace tejun::exec

namespace tejun::exec {
namespace {

TEST(Interpreter, AppliesQueuedEnvAssignmentsInOrderAndBounded) {
  Interpreter interpreter({});
  RecordingHost host;
  // Far more than the queue holds (64 KiB): some are applied early, all in order.
  for (int i = 0; i < 3000; ++i) {
    ASSERT_FALSE(interpreter.execute("%env STEP=" + std::to_string(i) + "-{STEP}-padding-padding", host, {}));
    if (i == 0) {
      ASSERT_FALSE(interpreter.execute("%env STEP=0", host, {}));
    }
  }
  ASSERT_FALSE(interpreter.execute("echo \"${STEP:0:24}\"", host, {}));
  EXPECT_EQ(host.out, "2999-2998-2997-2996-2995\n");
}

}  // namespace
}  // namespace tejun::exec
