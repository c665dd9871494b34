// The kernel manager driving real kernels: this build's own tejun kernel and, where the
// machine has it (scripts/install-deps installs it), Debian's ipykernel.
#include "client/kernel_manager.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace tejun::client {
namespace {

using std::chrono::milliseconds;

KernelSpec tejun_spec() {
  KernelSpec spec;
  spec.name = "tejun";
  spec.argv = {TEJUN_BINARY, "kernel", "-f", "{connection_file}"};
  spec.language = "bash";
  return spec;
}

// A scratch runtime directory for connection files, removed afterwards.
class KernelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_ =
        std::filesystem::temp_directory_path() / ("tejun-client-test-" + std::to_string(::getpid()) + "-" +
                                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ::setenv("JUPYTER_RUNTIME_DIR", runtime_.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
  }
  void TearDown() override { std::filesystem::remove_all(runtime_); }

  // Sends `code` and collects stdout until the request's idle status; the reply's status.
  static std::string execute(KernelManager& kernel, const std::string& code, std::string& out) {
    auto& client = kernel.client();
    const auto id =
        client.send(Channel::shell, "execute_request", {{"code", code}, {"silent", false}, {"allow_stdin", false}});
    std::string status;
    bool idle = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((status.empty() || !idle) && std::chrono::steady_clock::now() < deadline) {
      auto event = client.wait(milliseconds(1000));
      auto* received = std::get_if<Received>(&event);
      if (received == nullptr) {
        continue;
      }
      const auto* parent = received->message.parent_header.if_contains("msg_id");
      if (parent == nullptr || parent->as_string() != id) {
        continue;
      }
      const auto type = received->message.msg_type();
      const auto& content = received->message.content;
      if (type == "execute_reply") {
        status = content.at("status").as_string();
      } else if (type == "stream") {
        out += content.at("text").as_string();
      } else if (type == "status" && content.at("execution_state").as_string() == "idle") {
        idle = true;
      }
    }
    return status;
  }

  std::filesystem::path runtime_;
};

TEST_F(KernelManagerTest, StartsExecutesAndShutsDownTheTejunKernel) {
  auto kernel = KernelManager::start(tejun_spec(), {});
  ASSERT_TRUE(kernel) << kernel.error().to_string();
  const std::string file = (*kernel)->connection_file();
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);  // holds the signing key
  EXPECT_EQ((*kernel)->kernel_info().at("implementation").as_string(), "tejun");
  EXPECT_TRUE((*kernel)->client().heartbeat(milliseconds(5000)));
  std::string out;
  EXPECT_EQ(execute(**kernel, "echo hello; echo $PWD", out), "ok");
  EXPECT_EQ(out.substr(0, 6), "hello\n");
  EXPECT_TRUE((*kernel)->shutdown(milliseconds(5000)));  // went by itself
  EXPECT_FALSE((*kernel)->is_alive());
  EXPECT_FALSE(std::filesystem::exists(file));
}

TEST_F(KernelManagerTest, PassesEnvironmentAndWorkingDirectory) {
  StartOptions options;
  options.working_directory = runtime_.string();
  options.environment = {{"TEJUN_TEST_VALUE", "from the caller"}};
  auto kernel = KernelManager::start(tejun_spec(), options);
  ASSERT_TRUE(kernel) << kernel.error().to_string();
  std::string out;
  EXPECT_EQ(execute(**kernel, "echo \"$TEJUN_TEST_VALUE\"; pwd", out), "ok");
  EXPECT_EQ(out, "from the caller\n" + runtime_.string() + "\n");
}

TEST_F(KernelManagerTest, InterruptsARunningStep) {
  auto kernel = KernelManager::start(tejun_spec(), {});
  ASSERT_TRUE(kernel) << kernel.error().to_string();
  auto& client = (*kernel)->client();
  const auto id = client.send(Channel::shell, "execute_request", {{"code", "sleep 30"}, {"silent", false}});
  const auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(milliseconds(300));
  (*kernel)->interrupt();
  std::string status;
  while (status.empty() && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    auto event = client.wait(milliseconds(500));
    if (auto* received = std::get_if<Received>(&event);
        received != nullptr && received->message.msg_type() == "execute_reply") {
      status = received->message.content.at("status").as_string();
    }
  }
  EXPECT_EQ(status, "error");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  std::string out;
  EXPECT_EQ(execute(**kernel, "echo still here", out), "ok");  // the session survived
}

TEST_F(KernelManagerTest, ReportsAKernelThatDiesWhileStarting) {
  KernelSpec spec;
  spec.name = "broken";
  spec.argv = {"/bin/sh", "-c", "echo 'cannot import ipykernel' >&2; exit 3", "{connection_file}"};
  auto kernel = KernelManager::start(spec, {});
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message.find("the kernel 'broken' died (exit status 3)"), std::string::npos)
      << kernel.error().message;
  EXPECT_NE(kernel.error().message.find("cannot import ipykernel"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(runtime_));  // no connection file left
}

TEST_F(KernelManagerTest, ReportsAMissingProgram) {
  KernelSpec spec;
  spec.name = "missing";
  spec.argv = {"no-such-kernel-program", "-f", "{connection_file}"};
  auto kernel = KernelManager::start(spec, {});
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message.find("'no-such-kernel-program' is not found in PATH"), std::string::npos)
      << kernel.error().message;
}

TEST_F(KernelManagerTest, GivesUpOnAKernelThatNeverAnswers) {
  KernelSpec spec;
  spec.name = "silent";
  spec.argv = {"/bin/sh", "-c", "sleep 60", "sh", "{connection_file}"};
  StartOptions options;
  options.startup_timeout = milliseconds(500);
  const auto started = std::chrono::steady_clock::now();
  auto kernel = KernelManager::start(spec, options);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message.find("did not answer kernel_info within"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(KernelManagerTest, ReportsDeathWithTheSignal) {
  auto kernel = KernelManager::start(tejun_spec(), {});
  ASSERT_TRUE(kernel) << kernel.error().to_string();
  ::kill((*kernel)->process().pid(), SIGKILL);
  ASSERT_TRUE((*kernel)->process().wait_exit(milliseconds(5000)));
  EXPECT_FALSE((*kernel)->is_alive());
  EXPECT_NE((*kernel)->death_report().find("killed by signal 9 (SIGKILL)"), std::string::npos)
      << (*kernel)->death_report();
}

TEST_F(KernelManagerTest, RestartsWithAFreshSession) {
  auto kernel = KernelManager::start(tejun_spec(), {});
  ASSERT_TRUE(kernel) << kernel.error().to_string();
  std::string out;
  ASSERT_EQ(execute(**kernel, "export KEPT=yes", out), "ok");
  const auto old_pid = (*kernel)->process().pid();
  ASSERT_TRUE((*kernel)->restart(milliseconds(5000))) << "restart";
  EXPECT_NE((*kernel)->process().pid(), old_pid);
  out.clear();
  EXPECT_EQ(execute(**kernel, "echo \"[${KEPT:-}]\"", out), "ok");
  EXPECT_EQ(out, "[]\n");
}

TEST_F(KernelManagerTest, DrivesIpykernel) {
  auto spec = find_kernel_spec("python3");
  ASSERT_TRUE(spec) << "Debian's python3-ipykernel is part of scripts/install-deps: " << spec.error().message;
  auto kernel = KernelManager::start(*spec, {});
  ASSERT_TRUE(kernel) << kernel.error().to_string();
  EXPECT_EQ((*kernel)->kernel_info().at("implementation").as_string(), "ipython");
  std::string out;
  EXPECT_EQ(execute(**kernel, "print(6 * 7)", out), "ok");
  EXPECT_EQ(out, "42\n");
  EXPECT_EQ(execute(**kernel, "1/0", out), "error");
  (*kernel)->shutdown(milliseconds(5000));
  EXPECT_FALSE((*kernel)->is_alive());
}

TEST(KernelSpecs, FindsSpecsInJupyterPathFirst) {
  const auto root = std::filesystem::temp_directory_path() / ("tejun-specs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "kernels" / "MyKernel");
  std::ofstream(root / "kernels" / "MyKernel" / "kernel.json")
      << R"({"argv": ["x", "-f", "{connection_file}"], "display_name": "Mine", "language": "python",)"
      << R"( "interrupt_mode": "message", "env": {"A": "1"}})";
  std::filesystem::create_directories(root / "kernels" / "bad");
  std::ofstream(root / "kernels" / "bad" / "kernel.json") << R"({"argv": "not a list"})";
  ::setenv("JUPYTER_PATH", root.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
  EXPECT_EQ(jupyter_data_dirs().front(), root.string());
  auto spec = find_kernel_spec("mykernel");  // case-insensitive, as Jupyter matches
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->display_name, "Mine");
  EXPECT_EQ(spec->interrupt_mode, "message");
  ASSERT_EQ(spec->env.size(), 1U);
  auto bad = find_kernel_spec("bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("\"argv\" must be a non-empty list of strings"), std::string::npos);
  EXPECT_NE(bad.error().where.path.find("kernel.json"), std::string::npos);
  auto missing = find_kernel_spec("nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no kernelspec named 'nope'"), std::string::npos);
  EXPECT_TRUE(find_kernel_spec("tejun"));  // always there
  ::unsetenv("JUPYTER_PATH");              // NOLINT(concurrency-mt-unsafe)
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tejun::client
