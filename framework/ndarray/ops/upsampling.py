"""(being written: issue 5)"""
__all__ = []
