"""Dirac algebra for the tests that compute matrix elements independently: 4x4 gamma matrices in the Dirac
representation, metric (+, -, -, -), gamma5, the chiral projectors and sigma^{mu nu} = i/2 [gamma^mu, gamma^nu]."""

from __future__ import annotations

import numpy as np

_I2, _Z2 = np.eye(2), np.zeros((2, 2))
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], complex)
GAMMA = np.array(
    [np.block([[_I2, _Z2], [_Z2, -_I2]]).astype(complex)] + [np.block([[_Z2, s], [-s, _Z2]]) for s in PAULI]
)
METRIC = np.array([1.0, -1.0, -1.0, -1.0])
GAMMA5 = 1j * GAMMA[0] @ GAMMA[1] @ GAMMA[2] @ GAMMA[3]
P_L, P_R = (np.eye(4) - GAMMA5) / 2, (np.eye(4) + GAMMA5) / 2
SIGMA = np.array([[0.5j * (GAMMA[m] @ GAMMA[n] - GAMMA[n] @ GAMMA[m]) for n in range(4)] for m in range(4)])
