"""EPAM-Net model (imports torch)."""

from epam.model.epam_net import EPAMNet, build_model, convert_sync_bn, parameter_table

__all__ = ["EPAMNet", "build_model", "convert_sync_bn", "parameter_table"]
