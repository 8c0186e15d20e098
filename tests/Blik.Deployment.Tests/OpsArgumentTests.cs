using System.Text.RegularExpressions;
using Blik.Ops;

namespace Blik.Deployment.Tests;

/// <summary>
/// Usage and configuration errors of the ops command: exit code 2 with a message on stderr that names what to fix,
/// and nothing run.
/// </summary>
public sealed partial class OpsArgumentTests
{
    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();

    [Theory]
    [InlineData("requeue-poison")]
    [InlineData("peek-poison")]
    public async Task A_missing_storage_setting_is_a_clear_error_naming_AzureWebJobsStorage_with_exit_code_2(string command)
    {
        var run = await PoisonRequeueTests.RunRawAsync([command], NoEnvironment);

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains("Storage setting 'AzureWebJobsStorage' is missing", run.Err, StringComparison.Ordinal);
        Assert.Contains("--AzureWebJobsStorage=", run.Err, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task An_invalid_storage_setting_names_the_setting_without_echoing_it()
    {
        var run = await PoisonRequeueTests.RunRawAsync(["peek-poison", "--AzureWebJobsStorage=AccountName=x;AccountKey=not*base64"], NoEnvironment);

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains("AzureWebJobsStorage", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_storage_option_before_the_command_is_read_like_one_after_it()
    {
        var run = await PoisonRequeueTests.RunRawAsync(["--AzureWebJobsStorage=AccountName=x;AccountKey=not*base64", "requeue-poison"], NoEnvironment);

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.DoesNotContain("Storage setting 'AzureWebJobsStorage' is missing", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Usage:", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("not*base64", run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Unrecognized command or argument 'move-everything'", "move-everything")]
    [InlineData("--max needs a whole number of at least 1, not '0'", "requeue-poison", "--max", "0")]
    [InlineData("--max needs a whole number of at least 1, not 'many'", "requeue-poison", "--max", "many")]
    [InlineData("--max needs a whole number of at least 1, not '-3'", "requeue-poison", "--max=-3")]
    [InlineData("Required argument missing for option: '--max'", "requeue-poison", "--max")]
    [InlineData("--max needs a whole number from 1 to 32 (the queue service's limit per peek), not '33'", "peek-poison", "--max", "33")]
    [InlineData("Unrecognized command or argument '--dry-run'", "peek-poison", "--dry-run")]
    [InlineData("Unrecognized command or argument '--force'", "requeue-poison", "--force")]
    [InlineData("Unrecognized command or argument '--AzureWebJobsStorage__acountName=x'", "peek-poison", "--AzureWebJobsStorage__acountName=x")]
    [InlineData("--queue needs the main queue's name (the poison queue is <queue>-poison), not 'checkout-events-poison'", "requeue-poison", "--queue", "checkout-events-poison")]
    [InlineData("--keep-days needs a whole number from 1 to 3650, not '0'", "purge-events", "--keep-days", "0")]
    [InlineData("--keep-days needs a whole number from 1 to 3650, not 'week'", "purge-events", "--keep-days", "week")]
    [InlineData("--keep-days needs a whole number from 1 to 3650, not '-7'", "purge-events", "--keep-days=-7")]
    [InlineData("--table needs a table name (3 to 63 letters and digits, starting with a letter), not 'checkout-events'", "purge-events", "--table", "checkout-events")]
    [InlineData("Unrecognized command or argument '--max'", "purge-events", "--max", "3")]
    [InlineData("--queue needs the main queue's name (the poison queue is <queue>-poison), not ''", "peek-poison", "--queue", "")]
    public async Task Bad_arguments_name_the_option_print_usage_and_exit_with_code_2_running_nothing(string error, params string[] args)
    {
        // A valid storage setting, so the only thing wrong is the argument under test.
        var run = await PoisonRequeueTests.RunRawAsync([.. args, "--AzureWebJobsStorage=UseDevelopmentStorage=true"], NoEnvironment);

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains(error, Unwrapped(run.Err), StringComparison.Ordinal);
        Assert.Contains("Usage:", run.Err, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task No_command_is_a_usage_error()
    {
        var run = await PoisonRequeueTests.RunRawAsync([], NoEnvironment);

        Assert.Equal(OpsApp.UsageError, run.ExitCode);
        Assert.Contains("Required command was not provided.", run.Err, StringComparison.Ordinal);
        Assert.Contains("requeue-poison", run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_lists_the_commands_and_the_storage_options_and_succeeds(string help)
    {
        var run = await PoisonRequeueTests.RunRawAsync([help], NoEnvironment);

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("peek-poison", run.Out, StringComparison.Ordinal);
        Assert.Contains("requeue-poison", run.Out, StringComparison.Ordinal);
        Assert.Contains("reconcile", run.Out, StringComparison.Ordinal);
        Assert.Contains("purge-events", run.Out, StringComparison.Ordinal);
        Assert.Contains("--AzureWebJobsStorage__accountName", run.Out, StringComparison.Ordinal);
        Assert.Contains("Exit codes: 0 done, 1 failed", Unwrapped(run.Out), StringComparison.Ordinal);
        Assert.Contains("3 reconcile found differences", Unwrapped(run.Out), StringComparison.Ordinal);
        Assert.Empty(run.Err);
    }

    [Fact]
    public async Task A_command_help_describes_its_own_options_and_needs_no_storage_setting()
    {
        var run = await PoisonRequeueTests.RunRawAsync(["requeue-poison", "--help"], NoEnvironment);

        Assert.Equal(OpsApp.Success, run.ExitCode);
        Assert.Contains("--dry-run", run.Out, StringComparison.Ordinal);
        Assert.Contains("--max <N>", run.Out, StringComparison.Ordinal);
        Assert.Contains("[default: checkout-events]", Unwrapped(run.Out), StringComparison.Ordinal);
        Assert.Empty(run.Err);
    }

    [Fact]
    public async Task Reconcile_help_describes_its_options_and_says_the_key_comes_from_the_environment_only()
    {
        var run = await PoisonRequeueTests.RunRawAsync(["reconcile", "--help"], NoEnvironment);

        Assert.Equal(OpsApp.Success, run.ExitCode);
        var help = Unwrapped(run.Out);
        Assert.Contains("--from <time> (REQUIRED)", help, StringComparison.Ordinal);
        Assert.Contains("--csv <file>", help, StringComparison.Ordinal);
        Assert.Contains("--apply", help, StringComparison.Ordinal);
        Assert.Contains("--parallelism <N>", help, StringComparison.Ordinal);
        Assert.Contains("--ConvergeGate__BaseUrl <url>", help, StringComparison.Ordinal);
        Assert.Contains("ConvergeGate__SecretKey, read from the environment only", help, StringComparison.Ordinal);
        Assert.Contains("Exit codes: 0 no difference, 3 differences found, 1 failed", help, StringComparison.Ordinal);
        Assert.Empty(run.Err);
    }

    /// <summary>Help text wraps at the console width; compare it as one line.</summary>
    private static string Unwrapped(string text) => Whitespace().Replace(text, " ");

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
