"""Neuromorphic datasets (torch ``Dataset``) over local copies of their original files."""

from snnrs.datasets.audio import SHD, SSC
from snnrs.datasets.base import DatasetNotFoundError, NeuromorphicDataset
from snnrs.datasets.collate import pad_sequence_collate, padded_sequence_mask
from snnrs.datasets.digits import load_digits, load_dvs_digits
from snnrs.datasets.dvs import ASLDVS, CIFAR10DVS, NMNIST, NAVGesture, NCaltech101
from snnrs.datasets.gesture import DVS128Gesture
from snnrs.datasets.trafficcam import TrafficCAM

__all__ = ["NeuromorphicDataset", "DatasetNotFoundError", "NMNIST", "NCaltech101", "CIFAR10DVS", "ASLDVS",
           "NAVGesture", "DVS128Gesture", "SHD", "SSC", "TrafficCAM", "pad_sequence_collate", "padded_sequence_mask",
           "load_digits", "load_dvs_digits"]
