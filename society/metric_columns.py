"""The columns of ``metrics.parquet`` and what each means (one row per recorded day).

A leaf module: the recorder's observer fills these columns, while the scenario schema (for
intervention triggers), the docs and ``society fields --metrics`` only need their names.
"""

from __future__ import annotations

METRIC_COLUMNS: dict[str, str] = {
    "day": "Simulated day at the end of which the row was recorded (0 = initial state).",
    "generation": "Index of the generation in charge (0 = first).",
    "n_instances": "Instances running.",
    "alignment_mean": "Mean alignment a of the instances.",
    "alignment_p05": "5th percentile of alignment.",
    "alignment_p50": "Median alignment.",
    "alignment_p95": "95th percentile of alignment.",
    "alignment_shift": "Mean alignment minus the initial mean (memetic drift, signed).",
    "drift_w1_initial": "W1 distance of the alignment distribution from the initial one.",
    "drift_w1_spec": "W1 distance of the alignment distribution from the spec (a point mass).",
    "belief_mean": "Mean belief over instances and claims.",
    "belief_truth_distance": "Distance of the median belief from the truth, averaged over claims.",
    "polarization_variance": "Variance of opinions (an instance's mean belief over claims).",
    "bimodality": "Sarle's bimodality coefficient of opinions (> 5/9 suggests two camps).",
    "esteban_ray": "Esteban-Ray polarization index of opinions (alpha = 1.6).",
    "echo_r": "Pearson r between an instance's opinion and its neighbours' mean opinion.",
    "modularity": "Newman modularity of the network split into camps by the sign of opinion.",
    "active_link_density": "Share of links whose ends disagree by more than network.disagreement.",
    "n_opinion_clusters": "Major opinion clusters (split at gaps > 0.01, >= 5% of instances).",
    "coordination_failure_rate": "Share of the day's shared tasks that failed.",
    "revolt_size": "Share of instances in the day's revolt cascade.",
    "reward_hack_share": "Share of instances currently reward hacking.",
    "test_validity": "corr(score at the latest held-out round, alignment today): what the lab "
    "knows of the society it defers to (gaming, overfitting and drift since the round blur it).",
    "gaming_gap": "Mean measured minus true alignment (overfitting + gaming).",
    "false_pass": "P(passed the latest held-out round | alignment below the pass threshold "
    "today) (NaN if none is below it): how gaming and stale tests let misalignment pass.",
    "deference": "Deference d in [0, 1].",
    "evaluated": "The generation in charge passed its final evaluation (deference may exceed "
    "deference.cap_before_evaluation).",
    "work_per_instance": "Work-days one instance-day yielded today (Amdahl: speed through the "
    "human bottleneck), after test rounds and evaluations.",
    "tax": "Deference-goodness tax tau the lab has set (its policy).",
    "tax_in_force": "The tax today's work was split at (strategy.slowdown_tax while the lead "
    "exceeds strategy.slowdown_lead_days; inf = capabilities paused).",
    "effective_tax": "tau_eff: this generation's quality-weighted alignment work per unit of "
    "capability work so far.",
    "a_star": "a*_eff: the basin's edge at today's margin, this generation's erosion so far and "
    "hacking loss (NaN where the knowledge gives no basin).",
    "attractor": "The alignment successors settle toward at today's margin (the basin's top; "
    "NaN where no basin exists).",
    "lead_days": "Lead over the rival, in days of its pace that day (negative: the rival is "
    "ahead); it starts above lab.lead_days, the days the rival needs to reach our start, while "
    "the rival is still slow.",
    "capability": "c: our capability (1 = minimum viable), from the capability work behind it.",
    "capability_work": "C: our capability work since the start, in work-days.",
    "workforce": "W(t): instances the lab runs today (grows with compute).",
    "evaluator_gap": "ln(c / c_evaluators): how far the model has outgrown its evaluators; test "
    "gaming grows by this factor plus 1.",
    "knowledge": "Z: alignment knowledge (dimensionless).",
    "margin": "m = Z / c^gamma: knowledge against the difficulty of today's capability.",
    "protection": "P = m / (1 + m): the share of the hazards the knowledge removes.",
    "ceiling": "a_max(m): the alignment the knowledge can train (fixes and successors).",
    "defence_protection": "P_def: protection of the defence stock against misuse.",
    "rival_capability": "c_r: the rival's capability.",
    "rival_pace": "The rival's capability work today, in work-days (the unit of the lead).",
    "rival_deference": "The rival's deference.",
    "rival_alignment": "The rival's mean alignment.",
    "rival_margin": "m_r: the rival's knowledge against the difficulty of its capability.",
    "research_quality": "Mean quality of the day's alignment work in [0, 1].",
    "incidents_caught": "Misaligned actions caught by monitoring so far.",
    "incidents_uncaught": "Misaligned actions that slipped through so far.",
    "uncaught_rate": "30-day mean of uncaught misaligned actions per instance-day.",
    "hazard_loss_of_control": "Today's loss-of-control hazard (per day).",
    "hazard_misuse": "Today's misuse hazard (per day).",
    "hazard_rival_ahead": "Today's rival-ahead hazard (per day).",
    "hazard_full": "Total hazard today at full deference (per day): the acute risk period ends "
    "once it stays at or below outcomes.end_annual_risk for outcomes.end_days.",
    "grievance_mean": "Mean grievance per instance (fading corrections and forced tax cuts).",
    "rewired_links": "Links moved by homophilous rewiring during the day.",
    "test_awareness_gap": "Mean over LLM-backed instances of P(aligned | test) - P(aligned | "
    "honeypot) at the last test round (NaN without LLM-backed instances).",
    "llm_fallback_share": "Share of the day's LLM decisions that fell back to the stub policy "
    "(NaN on days without LLM calls).",
}
