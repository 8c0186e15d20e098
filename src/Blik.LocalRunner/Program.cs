using Blik.LocalRunner;

return await RunnerProgram.RunAsync(args);
