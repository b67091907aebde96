"""The mechanisms of the model, one module each: the kernels that change the society's state.

Daily mechanisms (values, hacking, beliefs, rewiring, revolt, work, monitoring) step the whole
population at once; the others run on their own clocks (test rounds, hand-offs, risk arrivals,
strategists' advice). Each is documented in ``docs/model.md`` under its own heading.
"""
