"""The performance model: GPU and model catalogs, roofline step times, KV capacity (pure core).

Callers import from the module that owns a name:

    catalog      get_gpu(name) -> GpuSpec      "h100" -> h100-sxm; unknown -> ConfigurationError
                 get_model(name) -> ModelShape "llama-3.1-70b", "llama-2-70b@fp8", "deepseek-v3@fp4"
                 gpu_names(), model_names(), HardwareCatalog.builtin()
    gpus, models, precision    GpuSpec, ModelShape, Precision
    efficiency   Efficiency(compute_efficiency, bandwidth_efficiency, step_overhead_s,
                            tp_comm_penalty, memory_utilization)
    roofline     kv_capacity_tokens(gpu, model, tp, efficiency) -> int
                 prefill_seconds(gpu, model, tp, efficiency, prompt_tokens) -> float
                 decode_step_seconds(gpu, model, tp, efficiency, batch_size, kv_tokens) -> float
    step_timer   RooflineStepTimer(gpu, model, tensor_parallel, efficiency), a seams.StepTimer
    replica      replica_performance(gpu, model, tp, *, target_tpot_s, target_ttft_s,
                                     mean_prompt_tokens, mean_output_tokens, efficiency=None,
                                     max_batch=512) -> ReplicaPerformance
                 operating_point(gpu, model, tp, efficiency, *, batch, prompt_tokens,
                                 output_tokens) -> OperatingPoint
    calibration  parse_measurements, calibrate;  fidelity  the published table
    engine_timer step_timer_for(gpu, shape, tp)

The `fleetgate perfmodel` commands are fleetgate.cli.perfmodel.
"""
