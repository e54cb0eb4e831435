"""Foundation: errors, atomic I/O, constants, configuration, options, executors, logging and the cache.

Nothing here imports a pipeline stage; every stage imports from here.
"""
